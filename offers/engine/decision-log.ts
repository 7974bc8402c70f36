import { randomBytes } from 'node:crypto';
import { Partitioners, type Kafka, type PartitionMetadata } from 'kafkajs';
import type { Config } from '../../lib/config.ts';
import { createDurableProducer, createKafka, ensureTopics, type DurableProducer } from '../../lib/kafka.ts';
import type { Logger } from '../../lib/log.ts';
import { offerMetrics } from './metrics.ts';
import type { DecisionRecord } from './explain.ts';
import { PlayPulseError, errorMessage } from '../../lib/errors.ts';

/**
 * The decision stream: every decision the engine records, as full JSON, on the Kafka topic
 * `player-decisions` (one player's decisions share a partition, the key-hash partition of
 * the player id, and keep their order; retention is the topic's,
 * PLAYPULSE_DECISIONS_RETENTION). Redis keeps only each player's latest few, compact
 * (explain-codec.ts); the admin API reads older ones here.
 *
 * Record layout, version 2 (written): one Kafka record per partition per request, holding
 * the decisions of every player of that partition buffered since the last flush.
 *   key        null
 *   partition  the default partitioner's partition (murmur2) of each player id in it
 *   value      JSON `{"v":2,"decisions":[{"player":"<id>","decision":{DecisionRecord}},…]}`,
 *              in the order they were decided
 *   timestamp  the latest `at` among its decisions, so a read from time T that starts at
 *              the first record stamped T or later misses none
 * Version 1 (one record per decision, key = player id, value = the DecisionRecord's JSON)
 * is still read: `decodeDecisionRecord` reads both. A record per decision cost the
 * processors about a tenth of their CPU with rules live (a Kafka record encode, its
 * buffers and CRC per decision); one record per partition and request costs a few per flush.
 *
 * Appending is off the decision path: `add` buffers, and a flush every `lingerMs` (or at
 * `maxBuffered` records) sends the buffer (in requests of at most 256 KiB). It is an audit
 * trail, not state: decisions whose send fails are retried with the next flush, up to
 * `maxBuffered` held; beyond that the oldest are dropped and counted
 * (playpulse_offers_decision_log_dropped_total), never blocking decisions.
 */
export interface LoggedDecision {
  readonly player: string;
  readonly decision: DecisionRecord;
}

const dropped = offerMetrics.decisionLogDropped;
const written = offerMetrics.decisionLogWritten;

export interface DecisionLogOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly partitions: number;
  readonly retentionMs: number;
  readonly log: Logger;
  readonly lingerMs?: number;
  readonly maxBuffered?: number;
}

/** Bytes of decisions per produce request: well under a broker's default max message size (1 MiB). */
const REQUEST_BYTES = 256 * 1024;

export class DecisionLog {
  private readonly producer: DurableProducer;
  private buffer: LoggedDecision[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly lingerMs: number;
  private readonly maxBuffered: number;
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private partitionMetadata: PartitionMetadata[] = [];

  constructor(private readonly opts: DecisionLogOptions) {
    this.producer = createDurableProducer(opts.kafka);
    this.lingerMs = opts.lingerMs ?? 50;
    this.maxBuffered = opts.maxBuffered ?? 50_000;
  }

  /** Creates the topic when missing and connects. */
  async start(): Promise<void> {
    await ensureTopics(this.opts.kafka, [
      { topic: this.opts.topic, numPartitions: this.opts.partitions, configEntries: [{ name: 'retention.ms', value: String(this.opts.retentionMs) }] },
    ]);
    await this.producer.connect();
    await this.readPartitions();
  }

  /** The topic's partitions as the brokers have them (the topic may predate this process, with another count). */
  private async readPartitions(): Promise<void> {
    const admin = this.opts.kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [this.opts.topic] });
      this.partitionMetadata = meta.topics[0]?.partitions ?? [];
    } finally {
      await admin.disconnect();
    }
  }

  add(player: string, decision: DecisionRecord): void {
    this.buffer.push({ player, decision });
    if (this.buffer.length > this.maxBuffered) {
      const over = this.buffer.length - this.maxBuffered;
      this.buffer.splice(0, over);
      dropped.inc(over);
    }
    this.timer ??= setTimeout(() => void this.flush(), this.lingerMs);
  }

  /** Sends what is buffered, in requests of at most REQUEST_BYTES; resolves when it is written or a send failed. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.flushing) await this.flushing;
    if (this.buffer.length === 0) return;
    this.flushing = this.drain().finally(() => {
      this.flushing = null;
    });
    await this.flushing;
  }

  /**
   * One request per slice of the buffer of at most REQUEST_BYTES, in order: a chunk decided
   * at once adds thousands of decisions together, and a broker refuses a record batch over
   * its max message size. Each request holds one record per partition (version 2, above).
   * Stops at the first failed send; that slice goes back to the front for the next flush.
   */
  private async drain(): Promise<void> {
    if (this.partitionMetadata.length === 0) await this.readPartitions();
    while (this.buffer.length > 0) {
      const byPartition = new Map<number, { parts: string[]; latest: number }>();
      let bytes = 0;
      let taken = 0;
      for (const d of this.buffer) {
        const part = JSON.stringify({ player: d.player, decision: d.decision });
        if (taken > 0 && bytes + part.length > REQUEST_BYTES) break;
        const partition = this.partitionOf(d.player);
        const record = byPartition.get(partition) ?? { parts: [], latest: d.decision.at };
        record.parts.push(part);
        record.latest = Math.max(record.latest, d.decision.at);
        byPartition.set(partition, record);
        bytes += part.length;
        taken += 1;
      }
      const messages = [...byPartition].map(([partition, r]) => ({ partition, key: null, value: `{"v":2,"decisions":[${r.parts.join(',')}]}`, timestamp: String(r.latest) }));
      const batch = this.buffer.splice(0, taken);
      try {
        await this.producer.send({ topic: this.opts.topic, acks: -1, messages });
        written.inc(batch.length);
      } catch (err) {
        this.opts.log.warn({ err: errorMessage(err), records: batch.length }, 'decision stream write failed; retrying with the next flush');
        this.buffer = [...batch, ...this.buffer];
        this.timer ??= setTimeout(() => void this.flush(), Math.max(this.lingerMs, 1_000));
        return;
      }
    }
  }

  /** The partition a version 1 record of `player` would have had: the producer's default partitioner over the key. */
  private partitionOf(player: string): number {
    return this.partitioner({ topic: this.opts.topic, partitionMetadata: this.partitionMetadata, message: { key: player, value: null } });
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.producer.disconnect();
  }
}

/**
 * A player's decisions from the stream with `at` in [sinceMs, beforeMs), newest first, at most
 * `limit`. Reads only the player's partition (the producer's partitioner over the topic's
 * partitions), from the first offset at `sinceMs` to its end as of the call, with a
 * throwaway consumer group deleted afterwards. Cost grows with the partition's records
 * since `sinceMs`: an audit read, not a hot path.
 */
export async function readDecisionStream(kafka: Kafka, topic: string, player: string, opts: { sinceMs: number; beforeMs: number; limit: number }): Promise<DecisionRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  let partition: number;
  let start: bigint;
  let end: bigint;
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitionMetadata = meta.topics[0]?.partitions ?? [];
    if (partitionMetadata.length === 0) return [];
    partition = Partitioners.DefaultPartitioner()({ topic, partitionMetadata, message: { key: player, value: null } });
    const bounds = (await admin.fetchTopicOffsets(topic)).find((p) => p.partition === partition);
    const at = (await admin.fetchTopicOffsetsByTimestamp(topic, opts.sinceMs)).find((p) => p.partition === partition);
    if (!bounds) return [];
    end = BigInt(bounds.high);
    const s = at ? BigInt(at.offset) : -1n;
    start = s < 0n ? end : s < BigInt(bounds.low) ? BigInt(bounds.low) : s;
  } finally {
    await admin.disconnect();
  }
  if (start >= end) return [];

  const found: DecisionRecord[] = [];
  const groupId = `playpulse-decisions-read-${randomBytes(4).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 200 });
  let finish!: () => void;
  let fail!: (err: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(payload.error);
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        if (batch.partition !== partition) {
          consumer.pause([{ topic, partitions: [batch.partition] }]);
          return;
        }
        for (const m of batch.messages) {
          if (BigInt(m.offset) >= end) break;
          for (const { player: p, decision: d } of decodeDecisionRecord(m.key, m.value)) {
            if (p === player && d.at >= opts.sinceMs && d.at < opts.beforeMs) found.push(d);
          }
        }
        const last = batch.messages[batch.messages.length - 1];
        if (last && BigInt(last.offset) + 1n >= end) finish();
      },
    });
    consumer.seek({ topic, partition, offset: start.toString() });
    await done;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const cleanup = kafka.admin();
    await cleanup.connect().catch(() => undefined);
    await cleanup.deleteGroups([groupId]).catch(() => undefined);
    await cleanup.disconnect().catch(() => undefined);
  }
  // Newest first: by time, and by position in the partition for decisions of the same time.
  return found.reverse().sort((a, b) => b.at - a.at).slice(0, opts.limit);
}

/**
 * The decisions of one record of the stream, either version (see the header), in order;
 * none for a record that is not one of ours (not JSON, or another shape).
 */
export function decodeDecisionRecord(key: Buffer | string | null, value: Buffer | string | null): LoggedDecision[] {
  if (value === null || value.length === 0) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString());
  } catch {
    return [];
  }
  if (typeof parsed !== 'object' || parsed === null) return [];
  const v2 = parsed as { v?: unknown; decisions?: unknown };
  if (v2.v === 2 && Array.isArray(v2.decisions)) {
    return v2.decisions.filter((x): x is LoggedDecision => typeof x === 'object' && x !== null && typeof (x as LoggedDecision).player === 'string' && typeof (x as LoggedDecision).decision === 'object');
  }
  const player = key?.toString();
  return player && typeof (parsed as DecisionRecord).eventId === 'string' ? [{ player, decision: parsed as DecisionRecord }] : [];
}

/** The decision stream of a running system: its own Kafka client, topic created when missing, connected. */
export async function startDecisionLog(config: Config, log: Logger): Promise<{ log: DecisionLog; read: (player: string, opts: { sinceMs: number; beforeMs: number; limit: number }) => Promise<DecisionRecord[]> }> {
  if (!config.kafkaBrokers) throw new PlayPulseError('CONFIG_INVALID', 'the decision stream needs resolved KAFKA_BROKERS');
  const kafka = createKafka(config.kafkaBrokers, `playpulse-decisions-${config.instanceId}`);
  const decisionLog = new DecisionLog({ kafka, topic: config.topics.decisions, partitions: config.topics.partitions, retentionMs: config.topics.decisionsRetentionMs, log });
  await decisionLog.start();
  return { log: decisionLog, read: (player, opts) => readDecisionStream(kafka, config.topics.decisions, player, opts) };
}
