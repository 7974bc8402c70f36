import type { Kafka, Consumer } from 'kafkajs';
import { createLogger } from '../../lib/log.ts';
import type { EventRecord } from '../../protocol/record.ts';
import { decodeMessage } from '../../processors/dlq.ts';
import { nextPartition, type Positioned } from './merge.ts';

/**
 * Reads the retained records of a time window from the events topic, in the order of
 * merge.ts, a chunk at a time, with bounded memory (a partition that runs ahead is paused).
 * The window is by Kafka record timestamp (the edge produces at receive time): per
 * partition, from the first offset at or after `from` to the first at or after `to`,
 * never before the oldest retained offset. Records are decoded as the processors decode
 * them (processors/dlq.ts): those they dead-letter (undecodable, bad player id, key not the
 * player) are skipped and counted, and a recvAt too far in the future is applied at the
 * read's time, as the processors apply it at theirs. Commits nothing; the
 * consumer group is unique to the read and deleted after it.
 */
export interface PartitionRange {
  readonly partition: number;
  /** First offset to read. */
  readonly start: bigint;
  /** First offset not to read. */
  readonly end: bigint;
}

export interface WindowRead {
  readonly ranges: readonly PartitionRange[];
  /** Records in the window (upper bound of what is read: those the processors dead-letter are skipped). */
  readonly total: number;
}

const log = createLogger('backtest-reader');
const HIGH_WATER = 5_000;
const LOW_WATER = 1_000;

export async function resolveWindow(kafka: Kafka, topic: string, from: number, to: number): Promise<WindowRead> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [bounds, starts, ends] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchTopicOffsetsByTimestamp(topic, from),
      admin.fetchTopicOffsetsByTimestamp(topic, to),
    ]);
    const ranges = bounds
      .map((b) => {
        const low = BigInt(b.low);
        const high = BigInt(b.high);
        const s = BigInt(starts.find((x) => x.partition === b.partition)?.offset ?? b.high);
        const e = BigInt(ends.find((x) => x.partition === b.partition)?.offset ?? b.high);
        const start = s < low ? low : s;
        const end = e > high ? high : e;
        return { partition: b.partition, start, end: end < start ? start : end };
      })
      .sort((a, b) => a.partition - b.partition);
    return { ranges, total: ranges.reduce((n, r) => n + Number(r.end - r.start), 0) };
  } finally {
    await admin.disconnect();
  }
}

export interface ReadStats {
  /** Records read (a version-2 record holds a frame's events). */
  read: number;
  skipped: number;
}

/** Yields the window's events in merge order, in chunks of up to `chunk` (a record's events stay in order). */
export async function* readWindow(
  kafka: Kafka,
  topic: string,
  window: WindowRead,
  groupId: string,
  stats: ReadStats,
  chunk = 500,
): AsyncGenerator<Positioned<EventRecord>[]> {
  const open = window.ranges.filter((r) => r.end > r.start);
  if (open.length === 0) return;
  const buffers = new Map<number, Positioned<EventRecord>[]>(open.map((r) => [r.partition, []]));
  const ends = new Map(open.map((r) => [r.partition, r.end]));
  const done = new Set<number>();
  const paused = new Set<number>();
  let wake: (() => void) | null = null;
  let failure: unknown = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };

  const consumer: Consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxBytes: 8 * 1024 * 1024, maxWaitTimeInMs: 100, retry: { retries: 5 } });
  consumer.on(consumer.events.CRASH, (e) => {
    failure = e.payload.error;
    notify();
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: Math.max(1, open.length),
      eachBatch: async ({ batch }) => {
        const p = batch.partition;
        const end = ends.get(p);
        const buf = buffers.get(p);
        if (end === undefined || !buf || done.has(p)) return;
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset >= end) break;
          const d = decodeMessage(m, Date.now());
          if (d.ok) {
            stats.read += 1;
            const records = d.records;
            for (let index = 0; index < records.length; index++) {
              const record = records[index] as EventRecord;
              buf.push({ partition: p, offset: m.offset, index, recvAt: record.recvAt, item: record });
            }
          } else {
            stats.skipped += 1;
            log.debug({ partition: p, offset: m.offset, reason: d.reason, err: d.error }, 'record the processors dead-letter skipped');
          }
          if (offset + 1n >= end) done.add(p);
        }
        const high = BigInt(batch.highWatermark);
        if (high >= end && BigInt(batch.lastOffset()) + 1n >= high) done.add(p);
        if (done.has(p) || buf.length >= HIGH_WATER) {
          consumer.pause([{ topic, partitions: [p] }]);
          paused.add(p);
        }
        notify();
      },
    });
    for (const r of open) consumer.seek({ topic, partition: r.partition, offset: r.start.toString() });

    for (;;) {
      if (failure) throw failure;
      const waiting = open.some((r) => !done.has(r.partition) && (buffers.get(r.partition)?.length ?? 0) === 0);
      if (waiting) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 1_000).unref();
        });
        continue;
      }
      const out: Positioned<EventRecord>[] = [];
      while (out.length < chunk) {
        const p = nextPartition(buffers);
        if (p < 0) break;
        const buf = buffers.get(p) as Positioned<EventRecord>[];
        out.push(buf.shift() as Positioned<EventRecord>);
        if (buf.length < LOW_WATER && paused.has(p) && !done.has(p)) {
          paused.delete(p);
          consumer.resume([{ topic, partitions: [p] }]);
        }
        if (buf.length === 0 && !done.has(p)) break;
      }
      if (out.length === 0) return;
      yield out;
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect().catch(() => undefined));
  }
}
