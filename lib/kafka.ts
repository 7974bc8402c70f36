import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { Kafka, Partitioners, logLevel, type Admin, type ICustomPartitioner, type KafkaConfig, type Producer, type ProducerConfig, type ProducerRecord, type RecordMetadata, type ITopicConfig, type LogEntry } from 'kafkajs';
import { createLogger } from './log.ts';
import { counter } from './metrics.ts';
import { PlayPulseError, errorMessage } from './errors.ts';
import { sleep } from './time.ts';

const log = createLogger('kafka');

/**
 * kafkajs computes the CRC-32C of every record batch it produces in JavaScript, about 2.4 ms
 * per MiB here; `@node-rs/crc32`'s `crc32c` (the one `@platformatic/kafka` uses; SSE 4.2 or
 * ARMv8 CRC instructions) gives the same checksum about 14 times faster. What that saves
 * grows with the bytes per record: about a quarter of the decision stream's cost per
 * decision (records of thousands of compact decisions), a tenth of kafkajs' CPU per record
 * with 120-byte records (docs/stack.md). kafkajs reads its checksum function from its module
 * `protocol/recordBatch/crc32C` once, when the record batch encoder first loads (on the first
 * produce): this puts the native one in that module's place before then, so it must run
 * before any producer sends, which is why it runs when this module (the one Kafka client
 * factory) loads. Without a native build for the platform, or if the encoder loaded first,
 * kafkajs keeps its own; `kafkaChecksum` says which is in use. A batch with a wrong checksum
 * is refused by the broker (CORRUPT_MESSAGE), so every produce in the test suite checks it.
 */
export const kafkaChecksum: 'native' | 'javascript' = useNativeChecksum();

function useNativeChecksum(): 'native' | 'javascript' {
  const require = createRequire(import.meta.url);
  try {
    const encoder = require.resolve('kafkajs/src/protocol/recordBatch/v0/index.js');
    if (require.cache[encoder]) return 'javascript';
    const path = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/index.js');
    const { crc32c } = require('@node-rs/crc32') as { crc32c: (input: Uint8Array) => number };
    require(path);
    const mod = require.cache[path];
    if (!mod) return 'javascript';
    // kafkajs' own returns the checksum as an unsigned 32-bit number; so does crc32c.
    mod.exports = (buffer: Uint8Array) => crc32c(buffer);
    return 'native';
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'native CRC-32C unavailable; kafkajs computes record batch checksums in JavaScript');
    return 'javascript';
  }
}

const producerReplacements = counter('playpulse_kafka_producer_replacements_total', 'Idempotent producers replaced after a failed send (see DurableProducer)');

/**
 * kafkajs log lines go through our logger; its own info chatter is demoted to debug, and
 * its warning about bounded idempotent retries (a deliberate choice, see
 * createDurableProducer) is not repeated for every producer.
 */
function kafkaLogCreator() {
  return ({ level, log: entry }: LogEntry) => {
    const { message, ...rest } = entry;
    if (level === logLevel.ERROR) log.error(rest, message);
    else if (level === logLevel.WARN && !message.startsWith('Limiting retries for the idempotent producer')) log.warn(rest, message);
    else log.debug(rest, message);
  };
}

/**
 * The one Kafka client factory. The bootstrap list is handed to kafkajs in a random order
 * on every connect: kafkajs takes the first broker of the list for a new client's first
 * connection, so with `retries: 0` (the edge's readiness probe, start-up checks) a fresh
 * client whose first-listed broker is down failed every time, for as long as that one
 * broker was down, although the others answered (seen in test/integrity/kafka-leader-kill.test.ts:
 * the edge refused every event until the killed broker came back).
 */
export function createKafka(brokers: readonly string[], clientId: string, overrides: Partial<KafkaConfig> = {}): Kafka {
  const list = [...brokers];
  return new Kafka({
    clientId,
    brokers: () => shuffled(list),
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator,
    ...overrides,
  });
}

/**
 * Durable producer: acks from all in-sync replicas (set per send as acks: -1) and the
 * idempotent producer, so a retried batch is never written twice. Keys are partitioned with
 * the Java client's murmur2 partitioner, so other Kafka clients route a player alike.
 * Retries are bounded on purpose: the edge must answer `unavailable` in bounded time
 * rather than hold events forever; a resent event is de-duplicated by its id downstream.
 * A failed send replaces the kafkajs producer (see DurableProducer).
 */
export function createDurableProducer(kafka: Kafka, overrides: Partial<ProducerConfig> = {}): DurableProducer {
  const { createPartitioner, ...rest } = overrides;
  return new DurableProducer(() =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 5,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2_000 },
      ...rest,
      createPartitioner: trackingPartitioner(createPartitioner ?? KeyPartitioner),
    }),
  );
}

const M = 0x5bd1e995;
/** An ASCII key's bytes, written here rather than into a new Buffer (murmur2 runs on one thread, to completion). */
const SCRATCH = Buffer.allocUnsafe(256);

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i += 1) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * murmur2 of `key`'s UTF-8 bytes as the Java client computes it (`Utils.murmur2`, seed
 * 0x9747b28c), in 32-bit integer arithmetic. kafkajs' own
 * (producer/partitioners/default/murmur2.js) gives the same hash through a 64-bit `Long`
 * emulation, a few objects allocated per 4 bytes of key: it was about 2% of the processors'
 * CPU with rules live, hashing each decision's player for the decision stream. A key of
 * ASCII characters (player ids, as a rule) is read from the string without encoding it.
 */
export function murmur2(key: Buffer | string): number {
  let data: Buffer;
  let length: number;
  if (typeof key !== 'string') {
    data = key;
    length = key.length;
  } else if (key.length <= SCRATCH.length && isAscii(key)) {
    length = SCRATCH.write(key, 0, 'latin1');
    data = SCRATCH;
  } else {
    data = Buffer.from(key);
    length = data.length;
  }
  let h = 0x9747b28c ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i += 1) {
    const i4 = i * 4;
    let k = (data[i4] as number) | ((data[i4 + 1] as number) << 8) | ((data[i4 + 2] as number) << 16) | ((data[i4 + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= (data[tail + 2] as number) << 16;
  if (rest >= 2) h ^= (data[tail + 1] as number) << 8;
  if (rest >= 1) h = Math.imul(h ^ (data[tail] as number), M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of `key` among `partitions`, as the Java client's and kafkajs' default partitioners choose it. */
export function keyPartition(key: Buffer | string, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/**
 * kafkajs' default partitioner with `murmur2` above: a record's own partition when it names
 * one, else its key's (`keyPartition`), else kafkajs' round robin over the available
 * partitions. Every record the edge writes goes through it.
 */
export const KeyPartitioner: ICustomPartitioner = () => {
  const keyless = Partitioners.DefaultPartitioner();
  return (args) => {
    const { message, partitionMetadata } = args;
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined) return keyPartition(message.key, partitionMetadata.length);
    return keyless(args);
  };
};

/** `topic\0partition` of every partition the current send's records were assigned to. */
const sendPartitions = new AsyncLocalStorage<Set<string>>();
const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** `make`'s partitioner, noting each partition it picks for the send in progress (`sendPartitions`). */
function trackingPartitioner(make: ICustomPartitioner): ICustomPartitioner {
  return () => {
    const partition = make();
    return (args) => {
      const p = partition(args);
      sendPartitions.getStore()?.add(partitionKey(args.topic, p));
      return p;
    };
  };
}

/**
 * An idempotent producer that is replaced by a fresh one after a send fails.
 *
 * kafkajs rolls a partition's sequence number back whenever a produce request fails, even
 * when the broker wrote the batch before the failure reached the client (a broker that
 * stalls past the request timeout, or stops mid-request). The next batch then reuses that
 * sequence: with a different number of records the broker refuses it, and every batch
 * after it, as OUT_OF_ORDER_SEQUENCE_NUMBER — the producer never works again; with the same
 * number of records the broker takes it for a retry of the written batch and acknowledges
 * it without writing it — an acked batch is lost. A fresh producer gets a new producer id
 * whose sequences start at zero, so neither can happen. Whatever the failed send carried
 * is the caller's to retry (the edge refuses it to the client, which resends; processors
 * retry their dead letters), and a copy the broker did write is de-duplicated downstream.
 *
 * A send also fails when Kafka answered for fewer partitions than its records went to.
 * kafkajs retries a send only towards brokers that have not answered yet; when a leader
 * dies mid-send and its partitions move to a broker that already answered for its own, the
 * retry sends nothing for them and the send resolves as if all were written: acked events
 * that are in no log (seen with a 3-node cluster, test/integrity/kafka-leader-kill.test.ts).
 * The partitioner notes where each record went, and a partition without an answer makes the
 * send fail like any other failed send.
 *
 * The replaced producer is disconnected once its last send settles; the new one connects
 * on its first send.
 */
export class DurableProducer {
  private current: Producer;
  private connecting: Promise<void> | null = null;
  private readonly inFlight = new Map<Producer, number>();
  private readonly retired = new Set<Producer>();
  private wanted = false;
  private replacedCount = 0;

  constructor(private readonly make: () => Producer) {
    this.current = make();
  }

  /** How many times a failed send replaced the producer. */
  get replacements(): number {
    return this.replacedCount;
  }

  async connect(): Promise<void> {
    this.wanted = true;
    await this.connected(this.current);
  }

  async disconnect(): Promise<void> {
    this.wanted = false;
    const all = [this.current, ...this.retired];
    this.retired.clear();
    this.connecting = null;
    await Promise.allSettled(all.map((p) => p.disconnect()));
  }

  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    const producer = this.current;
    this.inFlight.set(producer, (this.inFlight.get(producer) ?? 0) + 1);
    try {
      await this.connected(producer);
      const partitions = new Set<string>();
      const result = await sendPartitions.run(partitions, () => producer.send(record));
      if (record.acks !== 0) assertEveryPartitionAnswered(partitions, result);
      return result;
    } catch (err) {
      if (this.current === producer) this.replace(err);
      throw err;
    } finally {
      const left = (this.inFlight.get(producer) ?? 1) - 1;
      if (left > 0) this.inFlight.set(producer, left);
      else {
        this.inFlight.delete(producer);
        if (this.retired.delete(producer)) void producer.disconnect().catch(() => undefined);
      }
    }
  }

  private connected(producer: Producer): Promise<void> {
    if (producer !== this.current) return Promise.resolve();
    this.connecting ??= producer.connect().catch((err: unknown) => {
      if (this.current === producer) this.connecting = null;
      throw err;
    });
    return this.connecting;
  }

  private replace(err: unknown): void {
    const old = this.current;
    this.current = this.make();
    this.connecting = null;
    this.replacedCount += 1;
    producerReplacements.inc();
    if ((this.inFlight.get(old) ?? 0) > 1) this.retired.add(old);
    else setImmediate(() => void old.disconnect().catch(() => undefined));
    log.warn({ err: errorMessage(err), replacements: this.replacedCount }, 'a send failed: replaced the idempotent producer so its sequence numbers start afresh');
    if (this.wanted) void this.connected(this.current).catch(() => undefined);
  }
}

/** Throws STACK_UNAVAILABLE when `result` has no answer for one of the partitions a send wrote to. */
function assertEveryPartitionAnswered(partitions: ReadonlySet<string>, result: readonly RecordMetadata[]): void {
  const answered = new Set(result.map((r) => partitionKey(r.topicName, r.partition)));
  const missing = [...partitions].filter((k) => !answered.has(k)).map((k) => k.replace('\u0000', '/'));
  if (missing.length > 0) {
    throw new PlayPulseError('STACK_UNAVAILABLE', `Kafka did not answer for ${missing.join(', ')} (its leader changed during the send): the send failed; resend it (copies already written are de-duplicated downstream)`);
  }
}

/**
 * Fails fast with STACK_UNAVAILABLE (naming the address) when no broker answers within
 * `timeoutMs`, instead of kafkajs' long retry loop.
 */
export async function assertKafkaReachable(brokers: readonly string[], timeoutMs: number): Promise<void> {
  const kafka = createKafka(brokers, 'playpulse-probe', {
    connectionTimeout: Math.min(timeoutMs, 3_000),
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await admin.connect();
      await admin.describeCluster();
      await admin.disconnect();
      return;
    } catch (err) {
      lastError = err;
      await admin.disconnect().catch(() => undefined);
      await sleep(250);
    }
  }
  throw new PlayPulseError(
    'STACK_UNAVAILABLE',
    `Kafka is unreachable at ${brokers.join(',')} (no answer within ${timeoutMs} ms: ${errorMessage(lastError)})`,
  );
}

/** Creates the topics that are missing; existing topics are left as they are. */
export async function ensureTopics(kafka: Kafka, topics: ITopicConfig[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing, waitForLeaders: false });
      await waitForTopicLeaders(admin, missing.map((t) => t.topic));
      log.info({ topics: missing.map((t) => t.topic) }, 'created topics');
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until every partition of `topics` has a leader. kafkajs' own `waitForLeaders` gives
 * up when a KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION for a moment right after
 * CreateTopics (its metadata lags the controller); this waits through that.
 */
async function waitForTopicLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics });
      if (meta.topics.length === topics.length && meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw err;
    }
    if (Date.now() > deadline) {
      throw new PlayPulseError('STACK_UNAVAILABLE', `the topics ${topics.join(', ')} have no leader ${timeoutMs} ms after they were created`);
    }
    await sleep(100);
  }
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
