/**
 * The two Kafka producers the benches compare, behind one shape, and what both benches need
 * around them (a broker, topics they delete, the median, the exit codes): kafkajs as the product
 * configures it (createKafka and createDurableProducer of lib/kafka.ts: idempotent producer,
 * acks -1) and @platformatic/kafka (idempotent producer, acks ALL, murmur2 partitioning like
 * the Java client, so a key lands on the same partition with both).
 * Used by load/bench/kafka-clients.ts (cost per record) and load/bench/ack-floor.ts (the
 * round trip an ack waits for).
 */
import { compatibilityPartitioner, ProduceAcks, Producer, stringSerializer } from '@platformatic/kafka';
import type { Kafka } from 'kafkajs';
import { startKafkaBroker } from '../../infra/kafka-broker.ts';
import { isPlayPulseError } from '../../lib/errors.ts';
import { createDurableProducer, createKafka, ensureTopics } from '../../lib/kafka.ts';

export const CLIENTS = ['kafkajs', 'platformatic'] as const;
export type ClientName = (typeof CLIENTS)[number];

export interface BenchRecord {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Record<string, string>;
}

export interface BenchProducer {
  /** One produce call with every record given; resolves once Kafka acknowledged all of them. */
  send(records: readonly BenchRecord[]): Promise<unknown>;
  close(): Promise<void>;
}

/** A connected producer of `client` writing to `topic`. */
export async function openProducer(client: ClientName, brokers: readonly string[], topic: string): Promise<BenchProducer> {
  if (client === 'kafkajs') {
    const producer = createDurableProducer(createKafka(brokers, 'bench-kafkajs'));
    await producer.connect();
    return {
      send: (records) => producer.send({ topic, acks: -1, messages: records as BenchRecord[] }),
      close: () => producer.disconnect(),
    };
  }
  const producer = new Producer<string, Buffer, string, string>({
    clientId: 'bench-platformatic',
    bootstrapBrokers: [...brokers],
    idempotent: true,
    acks: ProduceAcks.ALL,
    autocreateTopics: false,
    partitioner: compatibilityPartitioner,
    serializers: { key: stringSerializer, headerKey: stringSerializer, headerValue: stringSerializer },
  });
  return {
    send: (records) => producer.send({ messages: records.map((r) => ({ topic, key: r.key, value: r.value, headers: r.headers })) }),
    close: () => producer.close(),
  };
}

/** The broker a bench writes to, and the topics it made there (deleted by `close`). */
export interface BenchKafka {
  readonly brokers: readonly string[];
  readonly kafka: Kafka;
  /** Creates `topic` with `partitions` partitions; `close` deletes it. */
  createTopic(topic: string, partitions: number): Promise<void>;
  /** The records `topic` holds, per partition in partition order. */
  recordsPerPartition(topic: string): Promise<number[]>;
  /** Deletes the topics made, then stops the broker if the bench started it. */
  close(): Promise<void>;
}

/**
 * `--local`: a single-node broker of the bench's own (infra/kafka-broker.ts); else `--brokers`,
 * else KAFKA_BROKERS, else 127.0.0.1:9092.
 */
export async function openBenchKafka(opts: { readonly local: boolean; readonly brokers?: string | undefined }, clientId: string): Promise<BenchKafka> {
  const local = opts.local ? await startKafkaBroker({ port: 0 }) : null;
  const brokers = local?.brokers ?? (opts.brokers ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim()).filter(Boolean);
  const kafka = createKafka(brokers, clientId);
  const topics: string[] = [];
  return {
    brokers,
    kafka,
    async createTopic(topic, partitions) {
      topics.push(topic);
      await ensureTopics(kafka, [{ topic, numPartitions: partitions }]);
    },
    async recordsPerPartition(topic) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const offsets = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition);
        return offsets.map((o) => Number(o.high) - Number(o.low));
      } finally {
        await admin.disconnect();
      }
    },
    async close() {
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics }).catch((err: unknown) => process.stderr.write(`could not delete the topics: ${String(err)}\n`));
      await admin.disconnect();
      await local?.stop();
    },
  };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Runs a bench's `main` and exits with its code: 2 with the message for a PlayPulseError (bad options), 1 with the stack otherwise. */
export function runBenchMain(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (isPlayPulseError(err)) {
        process.stderr.write(`${err.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
