/**
 * Poison decisions through real Kafka and real Redis, in this process: one player's data
 * makes every decision of theirs fail (their `limits` hash overwritten with a string, as a
 * hand edit or a bug of another version would leave it: Redis answers WRONGTYPE to the
 * decider's read, every time). The events whose decision fails are dead-lettered
 * (`decide_failed`) after a few attempts of the whole chunk; every other event of the
 * partition is applied and decided, the offsets are committed past the poison. With Redis
 * stopped while the chunk is being isolated, nothing more is dead-lettered: the outage is
 * retried, and the same events, only those, are dead-lettered once Redis is back.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withServices, type Config } from '../../lib/config.ts';
import { Health } from '../../lib/health.ts';
import { createKafka } from '../../lib/kafka.ts';
import { playerKeys } from '../../lib/keys.ts';
import { registry } from '../../lib/metrics.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import type { Bundle } from '../../designer/types.ts';
import { createDecider } from '../../offers/engine/decider.ts';
import type { AppliedEvent, Decider } from '../../processors/decider-seam.ts';
import { startProcessors, type Processors } from '../../processors/index.ts';
import { readPlayerState } from '../../processors/state.ts';
import type { EventRecord } from '../../protocol/record.ts';
import { startDedicatedRedis, type DedicatedRedis } from '../faults/services.ts';
import { cleanupRedisPrefix, createTestTopics, testConfig, testServices } from '../helpers/stack.ts';
import { noonDaysAgo } from '../helpers/time.ts';
import { baseFiles, bundleOf, comebackYaml } from './offers-fixtures.ts';
import { groupProgress, produceRecords, retried, SwappableSource, waitUntil } from './processors-fixtures.ts';

let kafka: Kafka;
const clients: RedisClient[] = [];
const running: Processors[] = [];
const prefixes: { redis: RedisClient; prefix: string }[] = [];
let dedicated: DedicatedRedis | null = null;

beforeAll(() => {
  kafka = createKafka(testServices().kafkaBrokers, 'test-poison-decision');
});

afterEach(async () => {
  while (running.length > 0) await running.pop()?.stop();
});

afterAll(async () => {
  for (const { redis, prefix } of prefixes) await cleanupRedisPrefix(redis, prefix);
  for (const c of clients) c.disconnect();
  await dedicated?.stop();
});

const POISONED = 'bad-0';
const NORMAL = ['ok-0', 'ok-1', 'ok-2', 'ok-3'];

/** A comeback offer on every loss; the offer outlives the test (event times are yesterday). */
function bundle(): Bundle {
  return bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ when: 'event.data.result == "loss"', ttl: '72h' }) }));
}

/** Per player, interleaved: loss, store.open, loss, win — two offers for a normal player. */
function events(): EventRecord[] {
  const at = noonDaysAgo(1);
  const kinds = [
    { type: 'match.end', data: { result: 'loss' } },
    { type: 'store.open', data: { tab: 'main' } },
    { type: 'match.end', data: { result: 'loss' } },
    { type: 'match.end', data: { result: 'win' } },
  ];
  const out: EventRecord[] = [];
  kinds.forEach((k, i) => {
    for (const player of [...NORMAL.slice(0, 2), POISONED, ...NORMAL.slice(2)]) {
      out.push({ v: 1, player, id: `${player}-${i}`, type: k.type, data: k.data, recvAt: at + out.length * 1_000, edge: 'edge-test', session: `s-${player}` });
    }
  });
  return out;
}

/** Offsets (one partition) of the poisoned player's events that trigger a rule: the ones whose decision fails. */
function poisonOffsets(all: readonly EventRecord[]): string[] {
  return all.flatMap((e, i) => (e.player === POISONED && e.type === 'match.end' ? [String(i)] : []));
}

async function deadLettersTotal(reason: string): Promise<number> {
  const metric = await registry.getSingleMetric('playpulse_processor_dead_letters_total')?.get();
  return metric?.values.filter((v) => v.labels.reason === reason).reduce((s, v) => s + v.value, 0) ?? 0;
}

async function readDeadLetters(config: Config, atLeast: number): Promise<KafkaMessage[]> {
  const letters: KafkaMessage[] = [];
  const consumer = kafka.consumer({ groupId: `${config.keyPrefix}-dlq-reader` });
  await consumer.connect();
  await consumer.subscribe({ topic: config.topics.deadLetter, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void letters.push(message) });
  try {
    await waitUntil(`${atLeast} dead letters`, () => letters.length >= atLeast);
    // Everything dead-lettered before the commit is in the topic by now: read to its end.
    const admin = kafka.admin();
    await admin.connect();
    const end = (await admin.fetchTopicOffsets(config.topics.deadLetter)).reduce((s, p) => s + Number(p.high), 0);
    await admin.disconnect();
    await waitUntil('the dead-letter topic read to its end', () => letters.length >= end);
  } finally {
    await consumer.disconnect();
  }
  return letters;
}

async function drained(config: Config, timeoutMs?: number): Promise<void> {
  await waitUntil(
    'processors to commit every offset',
    async () => {
      const { committed, end } = await groupProgress(kafka, `${config.keyPrefix}-processors`, config.topics.events);
      return end > 0 && committed === end;
    },
    timeoutMs,
  );
}

const header = (m: KafkaMessage, k: string) => m.headers?.[k]?.toString();

/** Every event applied; every normal player's two losses offered; the poisoned player has no offer. */
async function assertDecided(redis: RedisClient, config: Config, b: Bundle, all: readonly EventRecord[]): Promise<void> {
  const now = Math.max(...all.map((e) => e.recvAt));
  for (const player of [...NORMAL, POISONED]) {
    const state = await readPlayerState(redis, config.keyPrefix, player, b, now);
    expect({ player, events: state.events_total }).toEqual({ player, events: 4 });
    const offers = await redis.hlen(playerKeys(config.keyPrefix, player).offers);
    expect({ player, offers }).toEqual({ player, offers: player === POISONED ? 0 : 2 });
  }
}

describe('poison decisions', () => {
  it('dead-letters the events whose decision keeps failing, decides the rest and commits past them', async () => {
    const config = testConfig({ PLAYPULSE_PARTITIONS: '1' });
    await retried(() => createTestTopics(config));
    const redis = createRedis(config.redisUrl ?? '', 'test-poison-decision');
    clients.push(redis);
    prefixes.push({ redis, prefix: config.keyPrefix });
    await redis.set(playerKeys(config.keyPrefix, POISONED).limits, 'not a hash');

    const b = bundle();
    const all = events();
    await produceRecords(kafka, config.topics.events, all);
    const before = await deadLettersTotal('decide_failed');
    const deciderRedis = createRedis(config.redisUrl ?? '', 'test-poison-decider', { enableAutoPipelining: true });
    clients.push(deciderRedis);
    const decider = createDecider({ config, redis: deciderRedis, bundles: new SwappableSource(b), queues: null, publish: async () => 0 });
    const health = new Health();
    running.push(await startProcessors({ config, health, bundles: new SwappableSource(b), decider }));
    await drained(config);

    const letters = await readDeadLetters(config, 3);
    expect(letters.map((m) => header(m, 'pp-dlq-reason'))).toEqual(['decide_failed', 'decide_failed', 'decide_failed']);
    expect(letters.map((m) => header(m, 'pp-dlq-offset'))).toEqual(poisonOffsets(all));
    expect(letters.every((m) => m.key?.toString() === POISONED && header(m, 'pp-dlq-partition') === '0')).toBe(true);
    expect(header(letters[0] as KafkaMessage, 'pp-dlq-error')).toMatch(/WRONGTYPE/);
    expect((await deadLettersTotal('decide_failed')) - before).toBe(3);
    await assertDecided(redis, config, b, all);
    await waitUntil('readiness to recover after the isolation', () => health.status().ready);
  });

  it('dead-letters nothing more while Redis is stopped during the isolation, and the same events once it is back', async () => {
    dedicated = await startDedicatedRedis('always');
    const server = dedicated;
    const base = testConfig({ PLAYPULSE_PARTITIONS: '1' });
    const config = withServices(base, { kafkaBrokers: base.kafkaBrokers ?? [], redisUrl: server.url });
    await retried(() => createTestTopics(config));
    const redis = createRedis(server.url, 'test-poison-decision-outage');
    redis.on('error', () => undefined);
    clients.push(redis);
    await redis.set(playerKeys(config.keyPrefix, POISONED).limits, 'not a hash');

    const b = bundle();
    const all = events();
    await produceRecords(kafka, config.topics.events, all);
    const before = await deadLettersTotal('decide_failed');
    // Commands fail during the outage instead of waiting for Redis (the stricter case: the
    // processors see outage errors in the middle of the isolation).
    const deciderRedis = createRedis(server.url, 'test-poison-decider-outage', { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
    deciderRedis.on('error', () => undefined);
    clients.push(deciderRedis);
    const real = createDecider({ config, redis: deciderRedis, bundles: new SwappableSource(b), queues: null, publish: async () => 0 });

    /**
     * Stops Redis at the first call of an isolation (a part of the previous call, from its
     * first event); starts it again after OUTAGE_CALLS calls failed without it: more than a
     * bisection of the chunk down to single events takes, so an isolation that went on past
     * the outage errors would reach single events and dead-letter them.
     */
    const OUTAGE_CALLS = 6;
    const outage = { stopped: false, over: false, failedWhileStopped: 0 };
    let previous: readonly AppliedEvent[] = [];
    const decider: Decider = {
      async decideBatch(part) {
        const isolating = previous.length > part.length && previous[0]?.offset === part[0]?.offset;
        previous = part;
        if (isolating && !outage.stopped && !outage.over) {
          await server.halt();
          outage.stopped = true;
        }
        if (outage.stopped && outage.failedWhileStopped >= OUTAGE_CALLS) {
          await server.resume();
          outage.stopped = false;
          outage.over = true;
        }
        try {
          await real.decideBatch(part);
        } catch (err) {
          if (outage.stopped) outage.failedWhileStopped += 1;
          throw err;
        }
      },
    };
    // The outage spans several retries: a backoff capped at 400 ms (5 s by default) keeps them short.
    running.push(await startProcessors({ config, health: new Health(), bundles: new SwappableSource(b), decider, retryBackoffMaxMs: 400 }));
    await drained(config, 200_000);

    expect(outage).toEqual({ stopped: false, over: true, failedWhileStopped: OUTAGE_CALLS });
    const letters = await readDeadLetters(config, 3);
    // Only the poison, each once: none of the events decided during the outage was dead-lettered.
    expect(letters.map((m) => `${header(m, 'pp-dlq-reason')}@${header(m, 'pp-dlq-offset')}`)).toEqual(poisonOffsets(all).map((o) => `decide_failed@${o}`));
    expect((await deadLettersTotal('decide_failed')) - before).toBe(3);
    await assertDecided(redis, config, b, all);
  }, 300_000);
});
