/**
 * The two Kafka producers the benches compare, behind one shape: kafkajs as the product
 * configures it (createKafka and createDurableProducer of lib/kafka.ts: idempotent producer,
 * acks -1) and @platformatic/kafka (idempotent producer, acks ALL, murmur2 partitioning like
 * the Java client, so a key lands on the same partition with both).
 * Used by load/bench/kafka-clients.ts (cost per record) and load/bench/ack-floor.ts (the
 * round trip an ack waits for).
 */
import { compatibilityPartitioner, ProduceAcks, Producer, stringSerializer } from '@platformatic/kafka';
import { createDurableProducer, createKafka } from '../../lib/kafka.ts';

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
