/**
 * Fault: the broker stalls past the producer's request timeout while a batch is on its way,
 * then goes on and writes that batch. The producer saw the send fail; what it sends next
 * must be written (an acknowledged send is stored) and it must keep working.
 *
 * A kafkajs idempotent producer rolls its sequence number back after such a failure, so its
 * next batch reuses the sequence of the written one: with as many records, the broker takes
 * it for a retry and acknowledges it without writing it; with another count, it refuses it
 * and everything after it as OUT_OF_ORDER_SEQUENCE_NUMBER. lib/kafka.ts DurableProducer
 * replaces the producer after a failed send; both cases run here against a real broker
 * frozen with SIGSTOP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLevel } from 'kafkajs';
import { createDurableProducer, createKafka, ensureTopics } from '../../lib/kafka.ts';
import { encodeRecord, recordHeaders, type EventRecord } from '../../protocol/record.ts';
import { assertNoLostAcks, type AckedEvent } from './checks.ts';
import { readTopicRecords } from './readers.ts';
import { startDedicatedKafka, type DedicatedKafka } from '../faults/services.ts';
import { waitFor } from '../faults/processes.ts';

const REQUEST_TIMEOUT_MS = 1_500;
const PLAYER = 'pstall';

function records(tag: string, n: number): EventRecord[] {
  return Array.from({ length: n }, (_, i) => ({ v: 1, player: PLAYER, id: `${tag}-${i}`, type: 'match.end', recvAt: Date.now(), edge: 'test', session: 'test' }));
}

describe('a broker that stalls past the request timeout, then writes the batch', () => {
  let kafka: DedicatedKafka;
  beforeAll(async () => {
    kafka = await startDedicatedKafka();
  }, 120_000);
  afterAll(async () => {
    kafka.thaw();
    await kafka.stop();
  });

  for (const [name, nextCount] of [
    ['as many records as the written batch', 3],
    ['another number of records', 2],
  ] as const) {
    it(`stores every acknowledged send after it; the next send has ${name}`, async () => {
      const topic = `stall-${nextCount}-${Date.now()}`;
      const client = createKafka(kafka.brokers, `stall-${nextCount}`, { requestTimeout: REQUEST_TIMEOUT_MS, logLevel: logLevel.NOTHING });
      await ensureTopics(client, [{ topic, numPartitions: 1 }]);
      const producer = createDurableProducer(client, { retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 } });
      await producer.connect();
      const acked: AckedEvent[] = [];
      const send = async (batch: EventRecord[]): Promise<void> => {
        await producer.send({ topic, acks: -1, messages: batch.map((r) => ({ key: r.player, value: encodeRecord(r), headers: recordHeaders(r) })) });
        acked.push(...batch.map((r) => ({ player: r.player, id: r.id })));
      };
      const admin = client.admin();
      await admin.connect();
      const high = async () => Number((await admin.fetchTopicOffsets(topic))[0]?.high ?? 0);
      try {
        await send(records('before', 2));

        await kafka.freeze();
        let stalledError: unknown = null;
        try {
          await send(records('stalled', 3)).catch((err: unknown) => {
            stalledError = err;
          });
        } finally {
          kafka.thaw();
        }
        expect(stalledError, 'the send to the frozen broker fails').not.toBeNull();
        // The scenario needs the broker to write the stalled batch after the client gave up.
        await waitFor('the stalled batch to be written', async () => ((await high()) === 5 ? true : undefined), 30_000, 100);

        await send(records('next', nextCount));
        await send(records('after', 1));

        const stored = await readTopicRecords(kafka.brokers, topic);
        const result = assertNoLostAcks(acked, stored);
        expect(result.acked).toBe(2 + nextCount + 1);
        const ids = stored.map((r) => r.record?.id);
        expect(ids).toEqual(expect.arrayContaining(['stalled-0', 'stalled-1', 'stalled-2']));
        expect(stored).toHaveLength(2 + 3 + nextCount + 1);
        expect(producer.replacements).toBeGreaterThanOrEqual(1);
      } finally {
        await admin.disconnect();
        await producer.disconnect();
      }
    }, 120_000);
  }
});
