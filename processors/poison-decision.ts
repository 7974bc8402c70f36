import type { AppliedEvent } from './decider-seam.ts';
import { isPoisonReply } from './apply.ts';
import { PlayPulseError, errorMessage } from '../lib/errors.ts';

/**
 * Poison decisions: applied events whose decision fails every time (an error that follows
 * from the event or its player's data, not from Redis or Kafka being away). A chunk's decide
 * step that failed DECIDE_ATTEMPTS_BEFORE_ISOLATION times in a row, each time with such an
 * error, is decided again by in-order bisection (`isolateDecisions`): the events whose
 * decision still fails on their own are dead-lettered (`decide_failed`), the rest are decided
 * as usual and the chunk is committed. An outage is never a reason to skip an event: an
 * infrastructure error (`isInfrastructureError`) resets the count and aborts an isolation,
 * and the caller checks that Redis answers before it isolates and before it dead-letters.
 */
export const DECIDE_ATTEMPTS_BEFORE_ISOLATION = 3;

/** Node socket errors: the service is away or the network between us is. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTCONN']);
/** Client errors without a reply: ioredis' connection states and timeouts, a cluster without a usable node. */
const CONNECTION_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError', 'AbortError']);
const CONNECTION_MESSAGE = /Connection is closed|Stream isn't writeable|Command timed out|Failed to refresh slots cache|None of startup nodes is available|Too many Cluster redirections|Connection lost|socket hang up/i;

/**
 * True when `err` says a service is away or busy (a Redis or Kafka connection error, a reply
 * such as LOADING or CLUSTERDOWN), so the same call may succeed later; false when it says
 * something about this call's input: an error reply about the script call (wrong key type,
 * a script error) or an error thrown in process (a bug hit by this event's data).
 */
export function isInfrastructureError(err: unknown): boolean {
  if (err instanceof AggregateError) return err.errors.some(isInfrastructureError);
  if (!(err instanceof Error)) return false;
  if (err.name === 'ReplyError') return !isPoisonReply(err);
  if (err instanceof PlayPulseError) return err.retriable;
  if (err.name.startsWith('KafkaJS') || CONNECTION_NAMES.has(err.name)) return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && SOCKET_CODES.has(code)) return true;
  if (CONNECTION_MESSAGE.test(err.message)) return true;
  return err.cause !== undefined && isInfrastructureError(err.cause);
}

export interface FailedDecision {
  readonly event: AppliedEvent;
  readonly error: string;
}

/**
 * Decides `events` by in-order bisection: a part that decides is done; a part that fails with
 * a non-infrastructure error is split in two, left half first, down to single events. Events
 * are decided in chunk order (the decider is idempotent, so what a failed part decided before
 * it threw is not decided twice), and k poison events cost about k·log2(n) calls; the normal
 * path never comes here. Returns the events that failed alone, with their errors; null when
 * `stillOurs` turned false. Throws an infrastructure error as it is: the caller retries the
 * whole chunk.
 */
export async function isolateDecisions(
  decide: (events: readonly AppliedEvent[]) => Promise<void>,
  events: readonly AppliedEvent[],
  stillOurs: () => boolean,
): Promise<FailedDecision[] | null> {
  const failed: FailedDecision[] = [];
  const walk = async (part: readonly AppliedEvent[]): Promise<boolean> => {
    if (part.length === 0) return true;
    if (!stillOurs()) return false;
    try {
      await decide(part);
      return true;
    } catch (err) {
      if (isInfrastructureError(err)) throw err;
      if (part.length === 1) {
        failed.push({ event: part[0] as AppliedEvent, error: errorMessage(err) });
        return true;
      }
    }
    const mid = Math.ceil(part.length / 2);
    return (await walk(part.slice(0, mid))) && walk(part.slice(mid));
  };
  return (await walk(events)) ? failed : null;
}
