/**
 * Client → edge frames (docs/contract.md §3):
 *
 *   ev    { t: "ev", id, type, ts?, data?, seq? }     one event
 *   evs   { t: "evs", events: [ {id, type, ts?, data?, seq?}, ... ] }   1..500 events
 *   ping  { t: "ping", n? }                            answered by { t: "pong", n }
 *
 * parseClientFrame sorts a decoded frame into one of these; the events stay raw here and
 * are checked one by one by validate-event.ts, so one bad event never sinks its batch.
 * `seq` (the event's place in its client's stream, named by `?stream=` on the upgrade) is
 * kept by resends: it is what lets processors count a resent event once.
 */
import { MAX_BATCH_EVENTS } from './limits.ts';

export interface WireEvent {
  id: string;
  type: string;
  ts?: number;
  data?: Record<string, unknown>;
  /** Place in the socket's stream (`?stream=`), 1..2^53 - 1; the same on every resend. */
  seq?: number;
}

export type ClientFrame =
  | { t: 'ev'; events: unknown[] }
  | { t: 'evs'; events: unknown[] }
  | { t: 'ping'; n: unknown; hasN: boolean };

export type ClientFrameResult = { ok: true; frame: ClientFrame } | { ok: false; message: string };

export function parseClientFrame(frame: Record<string, unknown>): ClientFrameResult {
  const t = frame.t;
  if (t === 'ev') return { ok: true, frame: { t: 'ev', events: [frame] } };
  if (t === 'evs') {
    const events = frame.events;
    if (!Array.isArray(events)) return { ok: false, message: '`evs` needs `events`, an array of event maps' };
    if (events.length === 0) return { ok: false, message: '`evs` needs at least one event' };
    if (events.length > MAX_BATCH_EVENTS) {
      return { ok: false, message: `\`evs\` holds ${events.length} events; at most ${MAX_BATCH_EVENTS} per frame` };
    }
    return { ok: true, frame: { t: 'evs', events } };
  }
  if (t === 'ping') return { ok: true, frame: { t: 'ping', n: frame.n, hasN: Object.hasOwn(frame, 'n') } };
  if (typeof t !== 'string') return { ok: false, message: 'a frame needs a string field `t`' };
  return { ok: false, message: `unknown frame type \`${t.slice(0, 32)}\` (expected ev, evs or ping)` };
}

/** Builders used by clients (SDK, tests, load tools). */
export function evFrame(e: WireEvent): Record<string, unknown> {
  return { t: 'ev', ...eventFields(e) };
}

export function evsFrame(events: readonly WireEvent[]): Record<string, unknown> {
  return { t: 'evs', events: events.map(eventFields) };
}

export function pingFrame(n?: unknown): Record<string, unknown> {
  return n === undefined ? { t: 'ping' } : { t: 'ping', n };
}

function eventFields(e: WireEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { id: e.id, type: e.type };
  if (e.ts !== undefined) out.ts = e.ts;
  if (e.data !== undefined) out.data = e.data;
  if (e.seq !== undefined) out.seq = e.seq;
  return out;
}
