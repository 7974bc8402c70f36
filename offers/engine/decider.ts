import type { Config } from '../../lib/config.ts';
import { createLogger } from '../../lib/log.ts';
import { failPointProbe } from '../../lib/failpoint.ts';
import type { RedisClient } from '../../lib/redis.ts';
import type { Bundle, BundleSource } from '../../designer/types.ts';
import { createOfferQueues, type FollowUpJob, type OfferQueues } from '../jobs/queues.ts';
import { attributeRevenueEvent } from './attribution.ts';
import type { EngineContext, PublishOffer } from './decide.ts';
import { ChunkTail, decideRuns, type Trigger, type TriggerRun } from './decide-batch.ts';
import type { DecisionRecord } from './explain.ts';
import { conditionInput } from './input.ts';
import { handleResponse, RESPONSE_EVENTS } from './responses.ts';
import { withEngineScripts } from './scripts.ts';
import type { DecisionLog } from './decision-log.ts';
import { routeOffer } from './offer-routing.ts';
import { BanditAllocations } from './bandit-cache.ts';
import type { Tracing } from '../../lib/tracing.ts';
import type { AppliedEvent, Decider } from '../../processors/decider-seam.ts';
import { eventPosition } from '../../protocol/record.ts';

export interface DeciderDeps {
  readonly config: Config;
  readonly redis: RedisClient;
  readonly bundles: BundleSource;
  /** Lifecycle queues; when absent the decider opens its own and closes them in close(); null: no lifecycle jobs. */
  readonly queues?: OfferQueues | null;
  /** Offer routing to the edge; defaults to the edge's publishOffer. */
  readonly publish?: PublishOffer;
  /** Called with each decision recorded (not for an event decided before); backtests count them. */
  readonly onDecision?: (playerId: string, record: DecisionRecord) => void;
  /** With `queues: null`: where follow-ups go instead of the follow-up queue (backtests). */
  readonly followUps?: (job: FollowUpJob) => void;
  /** The decision stream every recorded decision is appended to; absent: none (backtests, benchmarks, tests). */
  readonly decisionLog?: DecisionLog;
  /** Traces (lib/tracing.ts); absent or null: off. */
  readonly tracing?: Tracing | null;
  /** How long the shares of bandit rules are kept before the counters are read again (default BANDIT_REFRESH_MS). */
  readonly banditRefreshMs?: number;
}

/**
 * Triggers decided per decideRuns call. Its in-process half is synchronous: bounding it keeps
 * the event loop free for the consumer's heartbeat (a chunk of 10,000 triggers at once
 * blocked it for seconds on a loaded machine, long enough to lose the group membership), and
 * bounds the size of each step's pipelines. Each slice is one batch boundary: a few round
 * trips per 1,000 triggers.
 */
export const TRIGGERS_PER_CALL = 1_000;

/** Runs cut into slices of about TRIGGERS_PER_CALL triggers, in chunk order; a player's run is never split. */
function slices(runs: readonly TriggerRun[]): TriggerRun[][] {
  const ordered = [...runs].sort((a, b) => (a.triggers[0]?.order ?? 0) - (b.triggers[0]?.order ?? 0));
  const out: TriggerRun[][] = [];
  let current: TriggerRun[] = [];
  let n = 0;
  for (const run of ordered) {
    if (n > 0 && n + run.triggers.length > TRIGGERS_PER_CALL) {
      out.push(current);
      current = [];
      n = 0;
    }
    current.push(run);
    n += run.triggers.length;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** One step of a player's events in a batch: a response or revenue event (or none), then triggers. */
interface Step {
  readonly special: AppliedEvent | null;
  readonly triggers: Trigger[];
}

export type ClosableDecider = Decider & { close(): Promise<void>; readonly context: EngineContext };

/**
 * The offers engine as processors call it. `decideBatch` handles, per applied event in the
 * player's order: the offer responses (offer.shown/accepted/declined/purchased), the spend
 * of the policy's revenue event (attribution.ts), then the rules triggered by the event
 * type. A batch resolves only when every decision is recorded, and rejects on a Redis
 * failure (the processor then does not commit, and the redelivered batch decides nothing
 * twice).
 *
 * The batch is cut into steps per player: a run of consecutive triggering events is one
 * step, a response or revenue event (which changes what later decisions see: a decline, a
 * purchase) is a step of its own. Step k of every player runs together: first the response
 * and revenue events of the step, sent together across players, then every run of the step
 * through decide-batch.ts in a few pipelined round trips. A chunk of plain triggers is one
 * step, whatever its size.
 */
export function createDecider(deps: DeciderDeps): ClosableDecider {
  const redis = withEngineScripts(deps.redis);
  const ownQueues = deps.queues === undefined;
  const queues = deps.queues === undefined ? createOfferQueues(deps.config) : deps.queues;
  const log = createLogger('offers-decider');
  const context: EngineContext = {
    redis,
    keyPrefix: deps.config.keyPrefix,
    publish: deps.publish ?? ((playerId, offer, traceparent, presence) => routeOffer(deps.redis, deps.config.keyPrefix, playerId, offer, traceparent, presence)),
    tracing: deps.tracing ?? null,
    bandits: new BanditAllocations(deps.banditRefreshMs),
    queues,
    log,
    retentionMs: () => deps.bundles.current().policy.retentionMs,
    ...(deps.followUps ? { followUps: deps.followUps } : {}),
    ...(deps.decisionLog ? { decisionLog: deps.decisionLog } : {}),
    failAfterRecord: failPointProbe(deps.config.processors.failPoint, 'after-record', log),
    failAfterClaim: failPointProbe(deps.config.processors.failPoint, 'after-claim', log),
  };
  const specialEvent = (bundle: Bundle, type: string) => RESPONSE_EVENTS.has(type) || type === bundle.policy.revenue?.event;

  /** A player's events cut into steps: runs of triggers, and response/revenue events on their own (with their own triggers). */
  function stepsOf(bundle: Bundle, events: readonly { e: AppliedEvent; order: number }[]): Step[] {
    const steps: Step[] = [];
    for (const { e, order } of events) {
      const r = e.record;
      const rules = bundle.rulesByEvent.get(r.type);
      const trigger: Trigger | null =
        rules && rules.length > 0
          ? {
              order,
              input: {
                playerId: r.player,
                eventId: r.id,
                eventType: r.type,
                at: r.recvAt,
                input: conditionInput(r, e.state, bundle),
                rules,
                bundle,
                position: { partition: e.partition, offset: eventPosition(e.offset, e.index) },
                trace: e.trace,
              },
            }
          : null;
      const last = steps[steps.length - 1];
      if (specialEvent(bundle, r.type)) steps.push({ special: e, triggers: trigger ? [trigger] : [] });
      else if (!trigger) continue;
      else if (last && last.special === null) last.triggers.push(trigger);
      else steps.push({ special: null, triggers: [trigger] });
    }
    return steps;
  }

  async function special(bundle: Bundle, e: AppliedEvent): Promise<void> {
    const r = e.record;
    await handleResponse(context, r, bundle.policy);
    if (r.type === bundle.policy.revenue?.event) await attributeRevenueEvent(context, bundle.policy, r, { partition: e.partition, offset: eventPosition(e.offset, e.index) });
  }

  return {
    context,
    async decideBatch(events) {
      if (events.length === 0) return;
      const bundle = deps.bundles.current();
      const byPlayer = new Map<string, { e: AppliedEvent; order: number }[]>();
      events.forEach((e, order) => {
        // A client resend: its first copy (an earlier offset) is the one decided and attributed.
        if (e.resent) return;
        const list = byPlayer.get(e.record.player);
        if (list) list.push({ e, order });
        else byPlayer.set(e.record.player, [{ e, order }]);
      });
      const players = [...byPlayer].map(([playerId, list]) => ({ playerId, steps: stepsOf(bundle, list) }));
      const rounds = Math.max(0, ...players.map((p) => p.steps.length));
      const tail = new ChunkTail();
      // Bandit shares older than their refresh interval: read with the first step's calls (bandit-cache.ts).
      const bandits = rounds > 0 ? context.bandits?.refresh(context.redis, context.keyPrefix, bundle) : undefined;
      for (let k = 0; k < rounds; k += 1) {
        const step = players.flatMap((p) => {
          const s = p.steps[k];
          return s ? [{ playerId: p.playerId, step: s }] : [];
        });
        // Batch boundary: the step's response and revenue events, sent together across players.
        await Promise.all([...(k === 0 && bandits ? [bandits] : []), ...step.flatMap((s) => (s.step.special ? [special(bundle, s.step.special)] : []))]);
        const runs = step.filter((s) => s.step.triggers.length > 0).map((s) => ({ playerId: s.playerId, triggers: s.step.triggers }));
        for (const slice of slices(runs)) await decideRuns(context, bundle, slice, deps.onDecision, tail);
      }
      // Batch boundary: the chunk's routing, jobs and segment sizes, then its stats (decide-batch.ts ChunkTail).
      await tail.settle(context);
    },
    async close() {
      if (ownQueues && queues) await queues.close();
    },
  };
}
