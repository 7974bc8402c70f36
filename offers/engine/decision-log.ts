import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { Packr, Unpackr } from 'msgpackr';
import type { Config } from '../../lib/config.ts';
import { createDurableProducer, createKafka, ensureTopics, keyPartition, type DurableProducer } from '../../lib/kafka.ts';
import type { Logger } from '../../lib/log.ts';
import { offerMetrics } from './metrics.ts';
import type { DecisionRecord } from './explain.ts';
import { decodeDecision, encodeDecision } from './explain-codec.ts';
import { PlayPulseError, errorMessage } from '../../lib/errors.ts';

/**
 * The decision stream: every decision the engine records, in full, on the Kafka topic
 * `player-decisions` (one player's decisions share a partition, the key-hash partition of
 * the player id, and keep their order; retention is the topic's,
 * PLAYPULSE_DECISIONS_RETENTION). Redis keeps only each player's latest few; the admin API
 * reads older ones here. `decodeDecisionRecord` reads every version, for any consumer.
 *
 * Record layout, version 3 (written): one Kafka record per partition per request, holding
 * the decisions of every player of that partition buffered since the last flush.
 *   key        null
 *   partition  the default partitioner's partition (murmur2) of each player id in it
 *   value      MessagePack array [3, player, decision, player, decision, …], in the order
 *              they were decided; each decision is a bin, the compact form Redis keeps
 *              (explain-codec.ts: positional arrays, the outcome as an index, a fixed
 *              reason left out), which decodes to the full DecisionRecord
 *   timestamp  the latest `at` among its decisions, so a read from time T that starts at
 *              the first record stamped T or later misses none
 * Read, not written:
 *   version 2  the same record with the JSON value
 *              `{"v":2,"decisions":[{"player":"<id>","decision":{DecisionRecord}},…]}`;
 *   version 1  one record per decision, key = player id, value = the DecisionRecord's JSON.
 * A record per decision cost the processors about a tenth of their CPU with rules live (a
 * Kafka record encode, its buffers and CRC per decision). Version 2's JSON, a
 * `JSON.stringify` per decision and about 3 times the bytes to encode, checksum and
 * send, cost another tenth; version 3 reuses the compact bytes the decision's Redis write
 * already encoded (the `compact` argument of `add`).
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

/** A decision waiting in the buffer: its compact bytes (explain-codec.ts) and time. */
interface Buffered {
  readonly player: string;
  readonly compact: Buffer;
  readonly at: number;
}

/** The version 3 value's first element. */
const FORMAT = 3;
const packr = new Packr({ useRecords: false, variableMapSize: true, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

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
  private buffer: Buffered[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly lingerMs: number;
  private readonly maxBuffered: number;
  /** The topic's partition count as the brokers have it; 0 until read. */
  private partitions = 0;

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
      this.partitions = meta.topics[0]?.partitions.length ?? 0;
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Buffers one decision. `compact` is its compact form when the caller has it already (the
   * batched path encodes it for the Redis write): passing it saves encoding it again.
   */
  add(player: string, decision: DecisionRecord, compact?: Buffer): void {
    this.buffer.push({ player, compact: compact ?? encodeDecision(decision), at: decision.at });
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
    if (this.partitions === 0) await this.readPartitions();
    while (this.buffer.length > 0) {
      // Per partition: [3, player, bytes, player, bytes, …] and the latest time.
      const byPartition = new Map<number, { items: (number | string | Buffer)[]; latest: number }>();
      let bytes = 0;
      let taken = 0;
      for (const d of this.buffer) {
        const size = d.compact.length + d.player.length + 8;
        if (taken > 0 && bytes + size > REQUEST_BYTES) break;
        const partition = keyPartition(d.player, this.partitions);
        let record = byPartition.get(partition);
        if (!record) {
          record = { items: [FORMAT], latest: d.at };
          byPartition.set(partition, record);
        }
        record.items.push(d.player, d.compact);
        if (d.at > record.latest) record.latest = d.at;
        bytes += size;
        taken += 1;
      }
      const messages = [...byPartition].map(([partition, r]) => ({ partition, key: null, value: packr.pack(r.items), timestamp: String(r.latest) }));
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
    const partitions = meta.topics[0]?.partitions.length ?? 0;
    if (partitions === 0) return [];
    partition = keyPartition(player, partitions);
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
 * The decisions of one record of the stream, any version (see the header), in order; none
 * for a record that is not one of ours (neither JSON nor a version 3 array, or another
 * shape). A version 3 entry whose bytes do not decode is left out, the rest of the record
 * kept.
 */
export function decodeDecisionRecord(key: Buffer | string | null, value: Buffer | string | null): LoggedDecision[] {
  if (value === null || value.length === 0) return [];
  if (typeof value !== 'string' && value[0] !== 0x7b) return decodeVersion3(value);
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

function decodeVersion3(value: Buffer): LoggedDecision[] {
  let items: unknown;
  try {
    items = unpackr.unpack(value);
  } catch {
    return [];
  }
  if (!Array.isArray(items) || items[0] !== FORMAT) return [];
  const out: LoggedDecision[] = [];
  for (let i = 1; i + 1 < items.length; i += 2) {
    const player = items[i] as unknown;
    const bytes = items[i + 1] as unknown;
    if (typeof player !== 'string' || !(bytes instanceof Uint8Array)) continue;
    try {
      out.push({ player, decision: decodeDecision(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) });
    } catch {
      // One entry that does not decode; the others of the record stand.
    }
  }
  return out;
}

/** The decision stream of a running system: its own Kafka client, topic created when missing, connected. */
export async function startDecisionLog(config: Config, log: Logger): Promise<{ log: DecisionLog; read: (player: string, opts: { sinceMs: number; beforeMs: number; limit: number }) => Promise<DecisionRecord[]> }> {
  if (!config.kafkaBrokers) throw new PlayPulseError('CONFIG_INVALID', 'the decision stream needs resolved KAFKA_BROKERS');
  const kafka = createKafka(config.kafkaBrokers, `playpulse-decisions-${config.instanceId}`);
  const decisionLog = new DecisionLog({ kafka, topic: config.topics.decisions, partitions: config.topics.partitions, retentionMs: config.topics.decisionsRetentionMs, log });
  await decisionLog.start();
  return { log: decisionLog, read: (player, opts) => readDecisionStream(kafka, config.topics.decisions, player, opts) };
}
