/**
 * The walking skeleton, end to end through real services: a WebSocket client with a token
 * sends one `ev` frame; the edge produces it to Kafka keyed by the player and acks only
 * after the broker has it; a processor consumes it and the player's `events_total` in
 * Redis becomes 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encode, decode } from '@msgpack/msgpack';
import { createKafka } from '../../lib/kafka.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { Health } from '../../lib/health.ts';
import { readPlayerState } from '../../processors/state.ts';
import { decodeRecord } from '../../protocol/record.ts';
import { signPlayerToken } from '../../edge/auth.ts';
import { startEdge } from '../../edge/index.ts';
import { startProcessors } from '../../processors/index.ts';
import { createDecider } from '../../offers/engine/decider.ts';
import { BundleStore } from '../../designer/store.ts';
import { cleanupRedisPrefix, createTestTopics, testConfig, uniqueName } from '../helpers/stack.ts';
import { sleep } from '../../lib/time.ts';

const config = testConfig();
const stops: Array<() => Promise<void> | void> = [];
let redis: RedisClient;
let bundles: BundleStore;
let edgePort = 0;

beforeAll(async () => {
  await createTestTopics(config);
  redis = createRedis(config.redisUrl!, 'test');
  bundles = await BundleStore.open(redis, config.keyPrefix, { fallbackDir: 'offers/rules' });
  const store = bundles;
  stops.push(() => store.close());
  const health = new Health();
  const deciderRedis = createRedis(config.redisUrl!, 'test-decider');
  const decider = createDecider({ config, redis: deciderRedis, bundles });
  stops.push(async () => {
    await decider.close();
    deciderRedis.disconnect();
  });
  const processors = await startProcessors({ config, health, bundles, decider });
  stops.push(() => processors.stop());
  const edge = await startEdge({ config, health, bundles });
  stops.push(() => edge.stop());
  edgePort = edge.port;
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await cleanupRedisPrefix(redis, config.keyPrefix);
  redis.disconnect();
});

function nextFrame(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) reject(new Error('expected a binary frame'));
      else resolve(decode(data) as Record<string, unknown>);
    });
    ws.once('close', (code) => reject(new Error(`closed with ${code}`)));
  });
}

describe('walking skeleton', () => {
  it('client → edge → Kafka → processor → Redis, acked only after the broker stored it', async () => {
    const player = uniqueName('p');
    const token = await signPlayerToken(config.authSecret, player, 600);
    const ws = new WebSocket(`ws://127.0.0.1:${edgePort}/v1/play?token=${token}`);
    const hello = await nextFrame(ws);
    expect(hello).toMatchObject({ t: 'hello', player });

    ws.send(encode({ t: 'ev', id: 'e-1', type: 'session.start', data: {} }));
    const ack = await nextFrame(ws);
    expect(ack).toEqual({ t: 'ack', ids: ['e-1'] });

    const admin = createKafka(config.kafkaBrokers!, 'skeleton-check').admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(config.topics.events);
    await admin.disconnect();
    const stored = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
    expect(stored).toBe(1);

    const consumer = createKafka(config.kafkaBrokers!, 'skeleton-check').consumer({ groupId: uniqueName('g') });
    await consumer.connect();
    await consumer.subscribe({ topic: config.topics.events, fromBeginning: true });
    const record = await new Promise<{ key: string; value: ReturnType<typeof decodeRecord> }>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => resolve({ key: message.key!.toString(), value: decodeRecord(message.value) }),
      });
    });
    await consumer.disconnect();
    expect(record.key).toBe(player);
    expect(record.value).toMatchObject({ player, id: 'e-1', type: 'session.start' });

    let total = 0;
    for (let i = 0; i < 100 && total !== 1; i++) {
      total = (await readPlayerState(redis, config.keyPrefix, player, bundles.current(), Date.now())).events_total;
      if (total !== 1) await sleep(100);
    }
    expect(total).toBe(1);
    ws.close();
  });
});
