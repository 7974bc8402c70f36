import { randomBytes } from 'node:crypto';
import type { Admin, EachBatchPayload, Kafka } from 'kafkajs';
import type { Bundle } from '../designer/types.ts';
import type { Decider } from './decider-seam.ts';
import { applyItems, DEFAULT_SEEN_AGE_MS, DEFAULT_SEEN_MAX, type ApplyItem } from './apply.ts';
import { decodeMessage } from './dlq.ts';
import { planFor } from './plan.ts';
import { untilDone } from './retry.ts';
import { DEFAULT_CHUNK_SIZE } from './batch.ts';
import type { ScriptClient } from './scripts.ts';

/**
 * Rebuilds player state from the retained events topic into a key prefix, with the same
 * apply code as the live processors (so the same events give the same state: every time is
 * the record's `recvAt`, except one too far in the future, which both apply at their own
 * processing time: dlq.ts, trustedTime). Reads from `from` to `to` (default: the end of each partition as it
 * was when the replay started), in partition order, with a consumer group of its own that is
 * deleted afterwards. Poison records are counted and skipped (the live processors already
 * dead-lettered them). Backtests reuse this with their own decider.
 */
export type ReplayPosition = { readonly kind: 'earliest' } | { readonly kind: 'time'; readonly ms: number } | { readonly kind: 'offset'; readonly offset: number };

export interface ReplayOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly redis: ScriptClient;
  /** Target key prefix; should be fresh (a prefix that already holds state skips what its watermarks cover). */
  readonly keyPrefix: string;
  readonly bundle: Bundle;
  readonly from: ReplayPosition;
  readonly to?: ReplayPosition;
  /** Default: decide nothing (state only). */
  readonly decider?: Decider;
  readonly chunkSize?: number;
  readonly onProgress?: (p: ReplayProgress) => void;
}

export interface ReplayProgress {
  /** Records in the range, over all partitions. */
  readonly total: number;
  /** Records read so far (applied, duplicate or skipped). */
  readonly read: number;
  readonly applied: number;
  readonly duplicates: number;
  readonly skipped: number;
}

export interface PartitionRange {
  readonly partition: number;
  /** First offset to read (inclusive) and where to stop (exclusive). */
  readonly start: bigint;
  readonly end: bigint;
}

/** Parses `earliest`, an ISO time, `ms:<epoch ms>`, `offset:<n>`, or a bare integer (12+ digits: epoch ms; fewer: an offset). */
export function parsePosition(text: string): ReplayPosition {
  const t = text.trim();
  if (t === 'earliest' || t === 'beginning') return { kind: 'earliest' };
  const prefixed = /^(ms|offset):(\d+)$/.exec(t);
  if (prefixed) return prefixed[1] === 'ms' ? { kind: 'time', ms: Number(prefixed[2]) } : { kind: 'offset', offset: Number(prefixed[2]) };
  if (/^\d+$/.test(t)) return t.length >= 12 ? { kind: 'time', ms: Number(t) } : { kind: 'offset', offset: Number(t) };
  const ms = Date.parse(t);
  if (/^\d{4}-\d{2}-\d{2}/.test(t) && Number.isFinite(ms)) return { kind: 'time', ms };
  throw new RangeError(`not a position: ${JSON.stringify(text)} (use an ISO time, epoch ms, offset:<n>, ms:<n> or earliest)`);
}

/** Per partition, the offsets a position stands for; `high` is the end of the partition now. */
async function offsetsAt(admin: Admin, topic: string, pos: ReplayPosition, bounds: Map<number, { low: bigint; high: bigint }>): Promise<Map<number, bigint>> {
  const out = new Map<number, bigint>();
  if (pos.kind === 'time') {
    for (const p of await admin.fetchTopicOffsetsByTimestamp(topic, pos.ms)) {
      const b = bounds.get(p.partition);
      if (!b) continue;
      const o = BigInt(p.offset);
      out.set(p.partition, o < 0n ? b.high : o < b.low ? b.low : o > b.high ? b.high : o);
    }
    return out;
  }
  for (const [partition, b] of bounds) {
    if (pos.kind === 'earliest') out.set(partition, b.low);
    else {
      const o = BigInt(pos.offset);
      out.set(partition, o < b.low ? b.low : o > b.high ? b.high : o);
    }
  }
  return out;
}

/** The ranges to read: from `from` up to `to` (or the end as of now). */
export async function replayRanges(kafka: Kafka, topic: string, from: ReplayPosition, to?: ReplayPosition): Promise<PartitionRange[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const bounds = new Map<number, { low: bigint; high: bigint }>();
    for (const p of await admin.fetchTopicOffsets(topic)) bounds.set(p.partition, { low: BigInt(p.low), high: BigInt(p.high) });
    const starts = await offsetsAt(admin, topic, from, bounds);
    const ends = to ? await offsetsAt(admin, topic, to, bounds) : new Map([...bounds].map(([p, b]) => [p, b.high]));
    return [...bounds.keys()].sort((a, b) => a - b).map((partition) => ({ partition, start: starts.get(partition) ?? 0n, end: ends.get(partition) ?? 0n }));
  } finally {
    await admin.disconnect();
  }
}

export async function replayInto(opts: ReplayOptions): Promise<ReplayProgress> {
  const ranges = (await replayRanges(opts.kafka, opts.topic, opts.from, opts.to)).filter((r) => r.end > r.start);
  const total = ranges.reduce((s, r) => s + Number(r.end - r.start), 0);
  const progress = { total, read: 0, applied: 0, duplicates: 0, skipped: 0 };
  if (ranges.length === 0) return progress;

  const plan = planFor(opts.bundle);
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const byPartition = new Map(ranges.map((r) => [r.partition, r]));
  const open = new Set(ranges.map((r) => r.partition));
  const groupId = `${opts.keyPrefix}-replay-${randomBytes(4).toString('hex')}`;
  const consumer = opts.kafka.consumer({ groupId, allowAutoTopicCreation: false, maxBytes: 16 * 1024 * 1024 });
  let finish!: () => void;
  let fail!: (err: Error) => void;
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(payload.error);
  });
  const applyOpts = { keyPrefix: opts.keyPrefix, seenMax: DEFAULT_SEEN_MAX, seenAgeMs: DEFAULT_SEEN_AGE_MS };
  const hooks = { onFailure: () => undefined, onRecovered: () => undefined };

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    const range = byPartition.get(batch.partition);
    if (!range || !open.has(batch.partition)) return;
    const control = { heartbeat, isRunning, isStale };
    const inRange = batch.messages.filter((m) => BigInt(m.offset) >= range.start && BigInt(m.offset) < range.end);
    for (let i = 0; i < inRange.length; i += chunkSize) {
      const chunk = inRange.slice(i, i + chunkSize);
      const items: ApplyItem[] = [];
      for (const m of chunk) {
        const d = decodeMessage(m, Date.now());
        if (d.ok) d.records.forEach((record, index) => items.push({ record, partition: batch.partition, offset: m.offset, index }));
        else progress.skipped += 1;
      }
      const r = await untilDone(control, hooks, () => applyItems(opts.redis, plan, items, applyOpts));
      if (!r.done) return;
      progress.skipped += r.value.failed.length;
      progress.duplicates += r.value.duplicatesByOffset + r.value.duplicatesById;
      progress.applied += r.value.applied.length - r.value.duplicatesByOffset - r.value.duplicatesById;
      if (opts.decider && r.value.applied.length > 0) {
        const decider = opts.decider;
        const d = await untilDone(control, hooks, () => decider.decideBatch(r.value.applied));
        if (!d.done) return;
      }
      progress.read += chunk.length;
      resolveOffset((chunk[chunk.length - 1] as (typeof chunk)[number]).offset);
      opts.onProgress?.({ ...progress });
      await heartbeat();
    }
    const last = batch.messages[batch.messages.length - 1];
    if (last) resolveOffset(last.offset);
    if ((last && BigInt(last.offset) + 1n >= range.end) || BigInt(batch.highWatermark) <= range.start) {
      open.delete(batch.partition);
      consumer.pause([{ topic: opts.topic, partitions: [batch.partition] }]);
      if (open.size === 0) finish();
    }
  };

  await consumer.connect();
  try {
    await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
    await consumer.run({ eachBatchAutoResolve: false, partitionsConsumedConcurrently: Math.min(4, ranges.length), eachBatch });
    for (const r of ranges) consumer.seek({ topic: opts.topic, partition: r.partition, offset: r.start.toString() });
    await finished;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const admin = opts.kafka.admin();
    await admin.connect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
  return progress;
}
