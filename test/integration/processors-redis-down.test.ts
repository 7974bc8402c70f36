/**
 * Redis stopped under the processors mid-stream (a dedicated redis-server with AOF, so the
 * shared one stays up): readiness goes false, nothing more is committed while it is down,
 * and after it returns the processors resume without loss — every player exact.
 */
import type { Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { withServices } from '../../lib/config.ts';
import { Health } from '../../lib/health.ts';
import { createKafka } from '../../lib/kafka.ts';
import { startProcessors } from '../../processors/index.ts';
import { createApplyClient } from '../../processors/scripts.ts';
import { readPlayerState } from '../../processors/state.ts';
import { startDedicatedRedis, type DedicatedRedis } from '../faults/services.ts';
import { createTestTopics, testConfig, testServices } from '../helpers/stack.ts';
import { compileGame, expectedStates, gameEvents, groupProgress, produceRecords, RecordingDecider, retried, SwappableSource, waitUntil } from './processors-fixtures.ts';

let redisServer: DedicatedRedis | null = null;
let kafka: Kafka;

afterAll(async () => {
  await redisServer?.stop();
});

describe('processors with Redis stopped mid-stream', () => {
  it('stop committing and report not ready while Redis is down, then resume without loss', async () => {
    redisServer = await startDedicatedRedis('always');
    kafka = createKafka(testServices().kafkaBrokers, 'test-redis-down');
    const base = testConfig({ PLAYPULSE_PARTITIONS: '3' });
    const config = withServices(base, { kafkaBrokers: base.kafkaBrokers ?? [], redisUrl: redisServer.url });
    await retried(() => createTestTopics(config));
    const bundle = compileGame();
    const health = new Health();
    const processors = await startProcessors({ config, health, bundles: new SwappableSource(bundle), decider: new RecordingDecider() });
    const group = `${config.keyPrefix}-processors`;
    try {
      const first = gameEvents(200, 20, 61, 'a');
      await produceRecords(kafka, config.topics.events, first);
      await waitUntil('the first events to be committed', async () => (await groupProgress(kafka, group, config.topics.events)).committed === first.length);
      expect(health.status().ready).toBe(true);

      await redisServer.halt();
      const second = gameEvents(200, 20, 62, 'b').map((e) => ({ ...e, recvAt: e.recvAt + 60_000 }));
      await produceRecords(kafka, config.topics.events, second);
      await waitUntil('readiness to report Redis down', () => !health.status().ready);
      const during = await groupProgress(kafka, group, config.topics.events);
      expect(during.committed).toBeLessThan(first.length + second.length);

      await redisServer.resume();
      await waitUntil('every offset to be committed after Redis returned', async () => (await groupProgress(kafka, group, config.topics.events)).committed === first.length + second.length);
      await waitUntil('readiness to recover', () => health.status().ready);

      const redis = createApplyClient(redisServer.url, 'test-redis-down');
      const all = [...first, ...second];
      const now = Math.max(...all.map((e) => e.recvAt));
      const wrong: string[] = [];
      for (const [player, want] of expectedStates(all)) {
        const got = await readPlayerState(redis, config.keyPrefix, player, bundle, now);
        if (got.events_total !== want.events_total || JSON.stringify(got.props) !== JSON.stringify(want.props)) wrong.push(player);
      }
      redis.disconnect();
      expect(wrong).toEqual([]);
    } finally {
      await processors.stop();
    }
  });
});
