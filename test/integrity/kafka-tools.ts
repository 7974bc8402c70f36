/**
 * Kafka side of the integrity tests: produce event records straight into the topic (the
 * record format of protocol/record.ts, as the edge writes it), and read how far a consumer
 * group has committed compared with the partitions' high watermarks.
 */
import { logLevel, type Admin, type Kafka } from 'kafkajs';
import { createDurableProducer, createKafka } from '../../lib/kafka.ts';
import { encodeRecord, recordHeaders, type EventRecord } from '../../protocol/record.ts';
import { waitFor } from '../faults/processes.ts';

export function integrityKafka(brokers: readonly string[]): Kafka {
  return createKafka(brokers, 'integrity', { logLevel: logLevel.NOTHING });
}

/** Produces `records` (acks=all, idempotent), `chunk` per request, in order per player. */
export async function produceRecords(kafka: Kafka, topic: string, records: readonly EventRecord[], chunk = 2_000): Promise<void> {
  const producer = createDurableProducer(kafka);
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += chunk) {
      const messages = records.slice(i, i + chunk).map((r) => ({ key: r.player, value: encodeRecord(r), headers: recordHeaders(r) }));
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Produces raw values under `key` (poison: bytes that are not an event record). */
export async function produceRaw(kafka: Kafka, topic: string, key: string, values: readonly Buffer[]): Promise<void> {
  const producer = createDurableProducer(kafka);
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: values.map((value) => ({ key, value })) });
  } finally {
    await producer.disconnect();
  }
}

/** Partition -> high watermark (the offset the next record will get). */
export async function highWatermarks(admin: Admin, topic: string): Promise<Map<number, bigint>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
}

/** Partition -> committed position of `groupId` (0 where nothing was committed). */
export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, bigint>> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const out = new Map<number, bigint>();
  for (const p of entry?.partitions ?? []) out.set(p.partition, p.offset === '-1' ? 0n : BigInt(p.offset));
  return out;
}

/** Events not yet committed by the group, over all partitions. */
export async function groupLag(admin: Admin, groupId: string, topic: string): Promise<bigint> {
  const [high, committed] = await Promise.all([highWatermarks(admin, topic), committedOffsets(admin, groupId, topic)]);
  let lag = 0n;
  for (const [p, h] of high) lag += h - (committed.get(p) ?? 0n);
  return lag;
}

/** Resolves once the group has committed up to the high watermark of every partition. */
export async function waitConsumed(admin: Admin, groupId: string, topic: string, timeoutMs = 120_000): Promise<void> {
  await waitFor(`group ${groupId} to commit all of ${topic}`, async () => ((await groupLag(admin, groupId, topic)) === 0n ? true : undefined), timeoutMs, 250);
}
