import type { Context } from '@opentelemetry/api';
import { Unpackr } from 'msgpackr';
import type { AppliedEvent } from './decider-seam.ts';
import { RECORD_EVENTS_MAX, type EventRecord } from '../protocol/record.ts';
import { playerKeys } from '../lib/keys.ts';
import { PlayPulseError } from '../lib/errors.ts';
import { RESEND_WINDOW } from '../protocol/limits.ts';
import { eventOps, type ConditionError, type FieldTypeError } from './extract.ts';
import { packr, type ApplyPlan } from './plan.ts';
import type { ScriptClient } from './scripts.ts';
import { ROW_HEAD, STATUS_APPLIED, STATUS_DUPLICATE_ID, STATUS_DUPLICATE_OFFSET, STATUS_DUPLICATE_SEQ, stateFromRow } from './state.ts';

/**
 * Applies decoded events to player state: one script call per player per call of
 * `applyItems` (that player's events in order), all calls issued at once so the client's
 * auto-pipeline sends them as one pipeline per Redis node. The same code serves the live
 * consumer, the replay tool and backtests.
 */
export interface ApplyItem {
  readonly record: EventRecord;
  readonly partition: number;
  /** The Kafka offset of the event's record. */
  readonly offset: string;
  /** The event's place in its record (0 for a version-1 record): with the offset, its position (protocol/record.ts). */
  readonly index: number;
  /** The record came with a traceparent (lib/tracing.ts): its remote parent. */
  readonly trace?: Context | undefined;
}

export interface ApplyOptions {
  readonly keyPrefix: string;
  /** Event ids each player's `seen` set keeps at least (it holds at most a third more). */
  readonly seenMax: number;
  /** An id applied longer ago than this (event time) no longer makes a resend a duplicate. */
  readonly seenAgeMs: number;
}

/**
 * 96 to 128 ids of events sent without a stream seq: small enough for Redis' compact listpack
 * encoding of the `seen` ZSET (128 entries by default). Clients that send seq never fill it.
 */
export const DEFAULT_SEEN_MAX = 96;
export const DEFAULT_SEEN_AGE_MS = 24 * 3_600_000;
/** Streams remembered per player (the least recently used is forgotten): a player's devices and app installs. */
export const STREAMS_KEPT = 8;
/** Holes (seq ranges not yet applied below a stream's highest) remembered per stream; past it, the oldest is dropped. */
export const GAPS_KEPT = 64;

export interface ApplyFailure {
  readonly item: ApplyItem;
  readonly error: Error;
}

export interface ApplyOutcome {
  /** Applied and duplicate events, in the order of `items`, without failures. */
  readonly applied: AppliedEvent[];
  /** Events the script refused: poison, for the dead-letter topic. */
  readonly failed: ApplyFailure[];
  /** Duplicates found by the partition watermark (redelivery), by event id and by stream seq (client resends). */
  readonly duplicatesByOffset: number;
  readonly duplicatesById: number;
  readonly duplicatesBySeq: number;
  readonly fieldErrors: { readonly item: ApplyItem; readonly errors: readonly FieldTypeError[] }[];
  readonly conditionErrors: { readonly item: ApplyItem; readonly errors: readonly ConditionError[] }[];
}

/** Redis answers that mean "not now" rather than "not this event". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|OOM|READONLY|MASTERDOWN|NOSCRIPT|NOREPLICAS|MOVED|ASK|NOAUTH|NOPERM)\b/;

/** True for an error reply about this one script call (bad input, wrong key type), not about Redis. */
export function isPoisonReply(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError' && !TRANSIENT_REPLY.test(err.message);
}

interface Group {
  readonly player: string;
  readonly at: number[];
  /** The events payload being built: seenMax, seenAgeMs, retentionMs, window, streamsKept, gapsKept, E, then the events. */
  readonly payload: (string | number)[];
}

/** Where E sits in the payload header. */
const E_AT = 6;

function startGroup(player: string, plan: ApplyPlan, opts: ApplyOptions): Group {
  return { player, at: [], payload: [opts.seenMax, opts.seenAgeMs, plan.retentionMs, RESEND_WINDOW, STREAMS_KEPT, GAPS_KEPT, 0] };
}

/** One event of the payload: partition, position, id, recvAt, flags, stream, seq, N, then the ops. */
function pushEvent(payload: (string | number)[], item: ApplyItem, ops: readonly (number | string)[]): void {
  const r = item.record;
  const seq = r.stream !== undefined && r.seq !== undefined ? r.seq : 0;
  // The event's position (eventPosition in protocol/record.ts) as an exact double.
  const position = Number(item.offset) + item.index / RECORD_EVENTS_MAX;
  payload.push(String(item.partition), position, r.id, r.recvAt, r.type === 'offer.purchased' ? 'p' : '', seq > 0 ? (r.stream as string) : '', seq, ops.length / 2);
  for (const op of ops) payload.push(op);
}

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** Sends one player's events; resolves with the decoded flat reply. */
async function call(redis: ScriptClient, plan: ApplyPlan, keyPrefix: string, g: Group): Promise<unknown[]> {
  g.payload[E_AT] = g.at.length;
  const k = playerKeys(keyPrefix, g.player);
  const reply = await redis.applyEventsBuffer(k.state, k.watermark, k.seen, k.windows, plan.propertyBlob, Buffer.from(packr.pack(g.payload)));
  const rows = unpackr.unpack(reply) as unknown;
  if (!Array.isArray(rows)) throw new PlayPulseError('STACK_UNAVAILABLE', 'apply script reply is not a list');
  return rows;
}

/**
 * Applies `items` (already decoded; one player's items in partition order). Throws a
 * retriable error when Redis cannot take the calls (nothing is lost: every event either
 * applied or will be found a duplicate when the caller retries).
 */
export async function applyItems(redis: ScriptClient, plan: ApplyPlan, items: readonly ApplyItem[], opts: ApplyOptions): Promise<ApplyOutcome> {
  const groups = new Map<string, Group>();
  const fieldErrors: ApplyOutcome['fieldErrors'] = [];
  const conditionErrors: ApplyOutcome['conditionErrors'] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as ApplyItem;
    const player = item.record.player;
    let g = groups.get(player);
    if (!g) {
      g = startGroup(player, plan, opts);
      groups.set(player, g);
    }
    const extracted = eventOps(plan, item.record);
    if (extracted.fieldErrors) fieldErrors.push({ item, errors: extracted.fieldErrors });
    if (extracted.conditionErrors) conditionErrors.push({ item, errors: extracted.conditionErrors });
    g.at.push(i);
    pushEvent(g.payload, item, extracted.ops);
  }

  const list = [...groups.values()];
  if (list.length === 0) return { applied: [], failed: [], duplicatesByOffset: 0, duplicatesById: 0, duplicatesBySeq: 0, fieldErrors, conditionErrors };
  const settled = await Promise.all(
    list.map((g) =>
      call(redis, plan, opts.keyPrefix, g).then(
        (reply) => ({ reply, error: null }),
        // programmer error: wraps a non-Error rejection so callers always get an Error
        (error: unknown) => ({ reply: null, error: error instanceof Error ? error : new Error(String(error)) }),
      ),
    ),
  );

  const byIndex: (Row | undefined)[] = new Array(items.length);
  const failed: ApplyFailure[] = [];
  const stride = ROW_HEAD + plan.properties.length;
  for (let gi = 0; gi < list.length; gi++) {
    const g = list[gi] as Group;
    const s = settled[gi] as { reply: unknown[] | null; error: Error | null };
    if (s.error) {
      if (!isPoisonReply(s.error)) {
        throw new PlayPulseError('STACK_UNAVAILABLE', `Redis could not apply events: ${s.error.message}`, undefined, { cause: s.error });
      }
      const isolated = await isolate(redis, plan, items, g, opts);
      for (const f of isolated.failed) failed.push(f);
      for (const [i, row] of isolated.applied) byIndex[i] = row;
      continue;
    }
    const reply = s.reply as unknown[];
    if (!Array.isArray(reply) || reply.length !== g.at.length * stride) {
      throw new PlayPulseError('STACK_UNAVAILABLE', `apply script returned ${Array.isArray(reply) ? reply.length : typeof reply} entries, expected ${g.at.length * stride}`);
    }
    for (let j = 0; j < g.at.length; j++) {
      const i = g.at[j] as number;
      const item = items[i] as ApplyItem;
      byIndex[i] = toApplied(item, plan, reply, j * stride);
    }
  }
  const applied: AppliedEvent[] = [];
  let duplicatesByOffset = 0;
  let duplicatesById = 0;
  let duplicatesBySeq = 0;
  for (const row of byIndex) {
    if (!row) continue;
    applied.push(row.event);
    if (row.status === STATUS_DUPLICATE_OFFSET) duplicatesByOffset += 1;
    else if (row.status === STATUS_DUPLICATE_ID) duplicatesById += 1;
    else if (row.status === STATUS_DUPLICATE_SEQ) duplicatesBySeq += 1;
    else if (row.status !== STATUS_APPLIED) throw new PlayPulseError('STACK_UNAVAILABLE', `apply script returned status ${row.status}`);
  }
  return { applied, failed, duplicatesByOffset, duplicatesById, duplicatesBySeq, fieldErrors, conditionErrors };
}

interface Row {
  readonly event: AppliedEvent;
  readonly status: number;
}

function toApplied(item: ApplyItem, plan: ApplyPlan, reply: readonly unknown[], at: number): Row {
  const status = Number(reply[at]);
  return {
    status,
    event: {
      record: item.record,
      partition: item.partition,
      offset: item.offset,
      index: item.index,
      state: stateFromRow(item.record.player, plan, reply, at),
      duplicate: status !== STATUS_APPLIED,
      resent: status === STATUS_DUPLICATE_ID || status === STATUS_DUPLICATE_SEQ,
      trace: item.trace,
    },
  };
}

/**
 * A call with several events was refused: the script writes nothing before it has checked
 * every input, so the events are retried one at a time, in order, to find the poison ones.
 */
async function isolate(
  redis: ScriptClient,
  plan: ApplyPlan,
  items: readonly ApplyItem[],
  g: Group,
  opts: ApplyOptions,
): Promise<{ applied: [number, Row][]; failed: ApplyFailure[] }> {
  const applied: [number, Row][] = [];
  const failed: ApplyFailure[] = [];
  for (const i of g.at) {
    const item = items[i] as ApplyItem;
    const one = startGroup(g.player, plan, opts);
    one.at.push(i);
    pushEvent(one.payload, item, eventOps(plan, item.record).ops);
    try {
      const reply = await call(redis, plan, opts.keyPrefix, one);
      applied.push([i, toApplied(item, plan, reply, 0)]);
    } catch (err) {
      if (!isPoisonReply(err)) {
        throw new PlayPulseError('STACK_UNAVAILABLE', `Redis could not apply events: ${(err as Error).message}`, undefined, { cause: err });
      }
      failed.push({ item, error: err as Error });
    }
  }
  return { applied, failed };
}
