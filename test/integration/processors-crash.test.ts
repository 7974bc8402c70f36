/**
 * Processors as real child processes (processors/run-child.ts), SIGKILLed in the middle of a
 * stream of 100k events: after a restart (or with a second member of the group taking over),
 * every player's state is exactly what applying each event once gives.
 */
import { rmSync } from 'node:fs';
import type { Kafka } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.ts';
import { createKafka } from '../../lib/kafka.ts';
import { createApplyClient, type ScriptClient } from '../../processors/scripts.ts';
import { readPlayerState } from '../../processors/state.ts';
import type { EventRecord } from '../../protocol/record.ts';
import { cleanupRedisPrefix, createTestTopics, testConfig, testServices } from '../helpers/stack.ts';
import {
  compileGame,
  expectedStates,
  gameDir,
  gameEvents,
  groupProgress,
  produceRecords,
  retried,
  startProcessorChild,
  waitUntil,
  type ProcessorChild,
} from './processors-fixtures.ts';

const PLAYERS = 2_000;
const PER_PLAYER = 50;
const SESSION_MS = '8000';

let redis: ScriptClient;
let kafka: Kafka;
const children: ProcessorChild[] = [];
const prefixes: string[] = [];
const rulesDir = gameDir();

beforeAll(() => {
  redis = createApplyClient(testServices().redisUrl, 'test-crash');
  kafka = createKafka(testServices().kafkaBrokers, 'test-crash');
});

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.child.exitCode === null && c.child.signalCode === null) {
      c.child.kill('SIGTERM');
      await c.exited;
    }
  }
});

afterAll(async () => {
  for (const p of prefixes) await cleanupRedisPrefix(redis, p);
  await redis.quit();
  rmSync(rulesDir, { recursive: true, force: true });
});

async function setup(partitions: number): Promise<Config> {
  const config = testConfig({ PLAYPULSE_PARTITIONS: String(partitions) });
  prefixes.push(config.keyPrefix);
  await retried(() => createTestTopics(config));
  return config;
}

async function child(config: Config): Promise<ProcessorChild> {
  const c = await startProcessorChild(config, rulesDir, { PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS: SESSION_MS });
  children.push(c);
  return c;
}

function progress(config: Config) {
  return groupProgress(kafka, `${config.keyPrefix}-processors`, config.topics.events);
}

async function assertExact(config: Config, events: readonly EventRecord[]): Promise<void> {
  const bundle = compileGame();
  const expected = [...expectedStates(events)];
  const now = Math.max(...events.map((e) => e.recvAt));
  const wrong: unknown[] = [];
  for (let i = 0; i < expected.length; i += 200) {
    const slice = expected.slice(i, i + 200);
    const states = await Promise.all(slice.map(([player]) => readPlayerState(redis, config.keyPrefix, player, bundle, now)));
    slice.forEach(([player, want], j) => {
      const got = states[j];
      const same = got && got.events_total === want.events_total && got.first_seen === want.first_seen && got.last_seen === want.last_seen && JSON.stringify(got.props) === JSON.stringify(want.props);
      if (!same) wrong.push({ player, want, got });
    });
  }
  expect(wrong.slice(0, 3)).toEqual([]);
  expect(expected).toHaveLength(PLAYERS);
}

describe('processors killed mid-stream', () => {
  it('SIGKILL and restart: every player exact after 100k events', async () => {
    const config = await setup(3);
    const events = gameEvents(PLAYERS, PER_PLAYER, 21);
    const producing = produceRecords(kafka, config.topics.events, events, 2_000);
    const first = await child(config);
    await waitUntil('a third of the stream to be committed', async () => (await progress(config)).committed >= events.length / 3);
    first.child.kill('SIGKILL');
    await first.exited;
    const mid = await progress(config);
    expect(mid.committed).toBeLessThan(events.length);

    await child(config);
    await producing;
    await waitUntil('every offset to be committed', async () => (await progress(config)).committed === events.length);
    await assertExact(config, events);
  });

  it('two processors in the group, one SIGKILLed: the other takes over and every player is exact', async () => {
    const config = await setup(6);
    const events = gameEvents(PLAYERS, PER_PLAYER, 22);
    const [a] = await Promise.all([child(config), child(config)]);
    const producing = produceRecords(kafka, config.topics.events, events, 2_000);
    await waitUntil('a third of the stream to be committed', async () => (await progress(config)).committed >= events.length / 3);
    a?.child.kill('SIGKILL');
    await a?.exited;
    await producing;
    await waitUntil('every offset to be committed', async () => (await progress(config)).committed === events.length);
    await assertExact(config, events);
  });
});
