/**
 * Replay (processors/replay.ts and bin/replay.ts) against real Kafka and Redis: rebuilding
 * into a fresh prefix gives the same state as the live processors; `from` a time or an
 * offset and `to` bound what is read; the CLI refuses the live prefix.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.ts';
import { Health } from '../../lib/health.ts';
import { createDurableProducer, createKafka } from '../../lib/kafka.ts';
import { startProcessors } from '../../processors/index.ts';
import { replayInto } from '../../processors/replay.ts';
import { createApplyClient, type ScriptClient } from '../../processors/scripts.ts';
import { readPlayerState } from '../../processors/state.ts';
import { encodeRecord, recordHeaders, type EventRecord } from '../../protocol/record.ts';
import { cleanupRedisPrefix, createTestTopics, testConfig, testServices, uniqueName } from '../helpers/stack.ts';
import { compileGame, expectedStates, gameDir, gameEvents, groupProgress, RecordingDecider, retried, SwappableSource, waitUntil } from './processors-fixtures.ts';

const run = promisify(execFile);
const REPLAY = fileURLToPath(new URL('../../bin/replay.ts', import.meta.url));
let redis: ScriptClient;
let kafka: Kafka;
const prefixes: string[] = [];
const bundle = compileGame();

beforeAll(() => {
  redis = createApplyClient(testServices().redisUrl, 'test-replay');
  kafka = createKafka(testServices().kafkaBrokers, 'test-replay');
});

afterAll(async () => {
  for (const p of prefixes) await cleanupRedisPrefix(redis, p);
  await redis.quit();
  rmSync(rulesDir, { recursive: true, force: true });
});

const rulesDir = gameDir();

function fresh(): string {
  const p = uniqueName('rp');
  prefixes.push(p);
  return p;
}

async function setup(partitions = 3): Promise<Config> {
  const config = testConfig({ PLAYPULSE_PARTITIONS: String(partitions) });
  prefixes.push(config.keyPrefix);
  await retried(() => createTestTopics(config));
  return config;
}

/** Produces `records` with Kafka timestamp `timestamp` (ms). */
async function produceAt(config: Config, records: readonly EventRecord[], timestamp: number): Promise<void> {
  const producer = createDurableProducer(kafka);
  await producer.connect();
  await producer.send({
    topic: config.topics.events,
    acks: -1,
    messages: records.map((r) => ({ key: r.player, value: encodeRecord(r), headers: recordHeaders(r), timestamp: String(timestamp) })),
  });
  await producer.disconnect();
}

async function statesOf(prefix: string, players: Iterable<string>, now: number) {
  const out: Record<string, unknown> = {};
  for (const p of players) out[p] = await readPlayerState(redis, prefix, p, bundle, now);
  return out;
}

function playersOf(events: readonly EventRecord[]): string[] {
  return [...new Set(events.map((e) => e.player))].sort();
}

describe('replay', () => {
  it('rebuilds into a fresh prefix exactly the state the live processors built', async () => {
    const config = await setup();
    const events = gameEvents(30, 40, 31);
    await produceAt(config, events, Date.now());
    const live = await startProcessors({ config, health: new Health(), bundles: new SwappableSource(bundle), decider: new RecordingDecider() });
    await waitUntil('live processors to finish', async () => {
      const { committed, end } = await groupProgress(kafka, `${config.keyPrefix}-processors`, config.topics.events);
      return end === events.length && committed === end;
    });
    await live.stop();

    const target = fresh();
    const progress: number[] = [];
    const done = await replayInto({ kafka, topic: config.topics.events, redis, keyPrefix: target, bundle, from: { kind: 'earliest' }, onProgress: (p) => progress.push(p.read) });
    expect(done).toEqual({ total: events.length, read: events.length, applied: events.length, duplicates: 0, skipped: 0 });
    expect(progress.at(-1)).toBe(events.length);
    const now = Math.max(...events.map((e) => e.recvAt));
    expect(await statesOf(target, playersOf(events), now)).toEqual(await statesOf(config.keyPrefix, playersOf(events), now));
    const want = expectedStates(events).get('player-7');
    expect(await readPlayerState(redis, target, 'player-7', bundle, now)).toMatchObject({ events_total: want?.events_total, props: want?.props });
  });

  it('starts at a time or an offset and stops at `to`', async () => {
    const config = await setup(1);
    const early = gameEvents(5, 10, 41, 'early');
    const late = gameEvents(5, 10, 42, 'late').map((e) => ({ ...e, recvAt: e.recvAt + 60_000 }));
    const t1 = Date.now() - 3_600_000;
    await produceAt(config, early, t1);
    await produceAt(config, late, t1 + 600_000);

    const fromTime = fresh();
    const a = await replayInto({ kafka, topic: config.topics.events, redis, keyPrefix: fromTime, bundle, from: { kind: 'time', ms: t1 + 300_000 } });
    expect(a.read).toBe(late.length);
    const now = Math.max(...late.map((e) => e.recvAt));
    for (const [player, want] of expectedStates(late)) {
      expect(await readPlayerState(redis, fromTime, player, bundle, now)).toMatchObject({ events_total: want.events_total, props: want.props });
    }

    const fromOffset = fresh();
    const b = await replayInto({ kafka, topic: config.topics.events, redis, keyPrefix: fromOffset, bundle, from: { kind: 'offset', offset: 10 }, to: { kind: 'offset', offset: 30 } });
    expect(b).toMatchObject({ total: 20, read: 20, applied: 20 });
    const slice = [...early, ...late].slice(10, 30);
    for (const [player, want] of expectedStates(slice)) {
      expect(await readPlayerState(redis, fromOffset, player, bundle, now)).toMatchObject({ events_total: want.events_total, props: want.props });
    }
  });

  it('the CLI replays into a fresh prefix, prints progress and a summary, and refuses the live prefix', async () => {
    const config = await setup(2);
    const events = gameEvents(4, 5, 51);
    await produceAt(config, events, Date.now());
    const target = fresh();
    const env = {
      ...process.env,
      KAFKA_BROKERS: (config.kafkaBrokers ?? []).join(','),
      REDIS_URL: config.redisUrl ?? '',
      PLAYPULSE_KEY_PREFIX: config.keyPrefix,
      PLAYPULSE_TOPIC_PREFIX: config.topics.events.replace(/player-events$/, ''),
      PLAYPULSE_LOG_LEVEL: 'warn',
      PLAYPULSE_LOG_PRETTY: '0',
    };
    const ok = await run(process.execPath, ['--import', 'tsx', REPLAY, '--from', 'earliest', '--prefix', target, '--rules', rulesDir], { env });
    expect(JSON.parse(ok.stdout.trim())).toMatchObject({ prefix: target, total: events.length, read: events.length, applied: events.length });
    expect(ok.stderr).toMatch(/replay: 20\/20 \(100\.0%\)/);
    const now = Math.max(...events.map((e) => e.recvAt));
    expect((await readPlayerState(redis, target, 'player-1', bundle, now)).events_total).toBe(5);

    const refused = await run(process.execPath, ['--import', 'tsx', REPLAY, '--from', 'earliest', '--prefix', config.keyPrefix], { env }).catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toMatch(/live key prefix/);
    const reused = await run(process.execPath, ['--import', 'tsx', REPLAY, '--from', 'earliest', '--prefix', target, '--rules', rulesDir], { env }).catch((e: { code: number; stderr: string }) => e);
    expect((reused as { stderr: string }).stderr).toMatch(/already holds keys/);
  });
});
