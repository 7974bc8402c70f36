/**
 * Processors through real Kafka and real Redis, in this process: exact state for N events
 * of M players, the decider called with every event in partition order before commits,
 * produced-twice and reset-to-zero leaving state unchanged, poison to the dead-letter topic
 * with the partition flowing on, a recvAt from the far future applied at the processing
 * time, and hot reload of properties between batches.
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.ts';
import { Health } from '../../lib/health.ts';
import { createKafka } from '../../lib/kafka.ts';
import { registry } from '../../lib/metrics.ts';
import { startProcessors, type Processors } from '../../processors/index.ts';
import { createApplyClient, type ScriptClient } from '../../processors/scripts.ts';
import { readPlayerState } from '../../processors/state.ts';
import { encodeRecord, eventPosition, recordHeaders, type EventRecord } from '../../protocol/record.ts';
import { createDurableProducer } from '../../lib/kafka.ts';
import { cleanupRedisPrefix, createTestTopics, testConfig, testServices } from '../helpers/stack.ts';
import { DAY_MS } from '../helpers/time.ts';
import {
  BASE_TIME,
  compileGame,
  expectedStates,
  gameEvents,
  groupProgress,
  mixedVersionMessages,
  produceRecords,
  retried,
  RecordingDecider,
  SwappableSource,
  waitUntil,
} from './processors-fixtures.ts';

let redis: ScriptClient;
let kafka: Kafka;
const running: Processors[] = [];
const prefixes: string[] = [];

beforeAll(() => {
  redis = createApplyClient(testServices().redisUrl, 'test-pipeline');
  kafka = createKafka(testServices().kafkaBrokers, 'test-pipeline');
});

afterEach(async () => {
  while (running.length > 0) await running.pop()?.stop();
});

afterAll(async () => {
  for (const p of prefixes) await cleanupRedisPrefix(redis, p);
  await redis.quit();
});

async function setup(partitions = 3): Promise<Config> {
  const config = testConfig({ PLAYPULSE_PARTITIONS: String(partitions) });
  prefixes.push(config.keyPrefix);
  await retried(() => createTestTopics(config));
  return config;
}

async function start(config: Config, source: SwappableSource, decider = new RecordingDecider(), health = new Health()) {
  const p = await startProcessors({ config, health, bundles: source, decider });
  running.push(p);
  return { processors: p, decider, health };
}

async function drained(config: Config): Promise<void> {
  await waitUntil('processors to commit every offset', async () => {
    const { committed, end } = await groupProgress(kafka, `${config.keyPrefix}-processors`, config.topics.events);
    return end > 0 && committed === end;
  });
}

async function assertState(config: Config, events: readonly EventRecord[], source: SwappableSource): Promise<void> {
  const expected = expectedStates(events);
  const now = Math.max(...events.map((e) => e.recvAt));
  for (const [player, want] of expected) {
    const got = await readPlayerState(redis, config.keyPrefix, player, source.current(), now);
    expect({ player, ...got }).toEqual({ player, id: player, offers_today: 0, last_purchase_at: null, ...want });
  }
}

/** Stops the running processors and resets their group to offset 0; returns the offset-duplicates counter before the rerun. */
async function restartFromEarliest(config: Config): Promise<number> {
  await running.pop()?.stop();
  const admin = kafka.admin();
  await admin.connect();
  await admin.resetOffsets({ groupId: `${config.keyPrefix}-processors`, topic: config.topics.events, earliest: true });
  await admin.disconnect();
  return counterValue('playpulse_processor_duplicates_skipped_total', { reason: 'offset' });
}

function counterValue(name: string, labels: Record<string, string> = {}): Promise<number> {
  return registry.getSingleMetric(name)?.get().then((m) =>
    m.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0),
  ) ?? Promise.resolve(0);
}

/** Event data with an own `__proto__` key nested in it, as a hostile producer would encode it. */
function hostileData(): Record<string, unknown> {
  const inner: Record<string, unknown> = {};
  Object.defineProperty(inner, '__proto__', { value: { polluted: true }, enumerable: true, writable: true, configurable: true });
  return { result: 'win', meta: inner };
}

describe('processors pipeline', () => {
  it('gives exactly the expected state for N events of M players, and hands every event to the decider before committing', async () => {
    const config = await setup();
    const source = new SwappableSource(compileGame());
    const events = gameEvents(40, 60, 7);
    await produceRecords(kafka, config.topics.events, events);
    const { decider, health } = await start(config, source);
    await drained(config);
    await assertState(config, events, source);

    expect(decider.events).toHaveLength(events.length);
    expect(decider.events.every((e) => !e.duplicate)).toBe(true);
    const byPartition = new Map<number, bigint[]>();
    for (const e of decider.events) byPartition.set(e.partition, [...(byPartition.get(e.partition) ?? []), BigInt(e.offset)]);
    for (const offsets of byPartition.values()) expect(offsets).toEqual([...offsets].sort((a, b) => (a < b ? -1 : 1)));
    const lastOf = new Map<string, (typeof decider.events)[number]>();
    for (const e of decider.events) lastOf.set(e.record.player, e);
    const want = expectedStates(events).get('player-3');
    expect(lastOf.get('player-3')?.state).toMatchObject({ events_total: want?.events_total, props: want?.props });
    expect(health.status().ready).toBe(true);
  });

  it('leaves state unchanged when the same events are produced again and when the group is reset to offset 0', async () => {
    const config = await setup();
    const source = new SwappableSource(compileGame());
    const events = gameEvents(20, 30, 11);
    await produceRecords(kafka, config.topics.events, events);
    const first = await start(config, source);
    await drained(config);
    await assertState(config, events, source);

    const dupById = await counterValue('playpulse_processor_duplicates_skipped_total', { reason: 'event_id' });
    await produceRecords(kafka, config.topics.events, events);
    await drained(config);
    await assertState(config, events, source);
    expect(first.decider.events.filter((e) => e.duplicate)).toHaveLength(events.length);
    expect((await counterValue('playpulse_processor_duplicates_skipped_total', { reason: 'event_id' })) - dupById).toBe(events.length);

    const dupByOffset = await restartFromEarliest(config);
    const second = await start(config, source);
    await drained(config);
    await assertState(config, events, source);
    expect(second.decider.events).toHaveLength(events.length * 2);
    expect(second.decider.events.every((e) => e.duplicate)).toBe(true);
    expect((await counterValue('playpulse_processor_duplicates_skipped_total', { reason: 'offset' })) - dupByOffset).toBe(events.length * 2);
  });

  it('reads records of both versions in one topic: exact state, every event once in position order, and a reset to offset 0 finds each a duplicate by position', async () => {
    const config = await setup();
    const source = new SwappableSource(compileGame());
    const mixed = mixedVersionMessages(gameEvents(12, 25, 17), 17);
    expect(mixed.messages.length).toBeLessThan(mixed.events.length);
    const producer = createDurableProducer(kafka);
    await producer.connect();
    await producer.send({ topic: config.topics.events, acks: -1, messages: mixed.messages });
    await producer.disconnect();
    const first = await start(config, source);
    await drained(config);
    await assertState(config, mixed.events, source);
    expect(first.decider.events.map((e) => e.record.id).sort()).toEqual(mixed.events.map((e) => e.id).sort());
    expect(first.decider.events.every((e) => !e.duplicate)).toBe(true);
    // Positions strictly increase within a partition, across records and within a frame's record.
    const positions = new Map<number, number[]>();
    for (const e of first.decider.events) positions.set(e.partition, [...(positions.get(e.partition) ?? []), Number(eventPosition(e.offset, e.index))]);
    for (const list of positions.values()) for (let i = 1; i < list.length; i++) expect(list[i]).toBeGreaterThan(list[i - 1] as number);
    expect(first.decider.events.some((e) => e.index > 0)).toBe(true);

    const dupByOffset = await restartFromEarliest(config);
    const second = await start(config, source);
    await drained(config);
    await assertState(config, mixed.events, source);
    expect(second.decider.events).toHaveLength(mixed.events.length);
    expect(second.decider.events.every((e) => e.duplicate)).toBe(true);
    expect((await counterValue('playpulse_processor_duplicates_skipped_total', { reason: 'offset' })) - dupByOffset).toBe(mixed.events.length);
  });

  it('sends poison events (a forbidden key among them) to the dead-letter topic with the reason and keeps the partition flowing', async () => {
    const config = await setup(1);
    const source = new SwappableSource(compileGame());
    const good = gameEvents(3, 4, 3);
    const producer = createDurableProducer(kafka);
    await producer.connect();
    const msg = (r: EventRecord) => ({ key: r.player, value: encodeRecord(r), headers: recordHeaders(r) });
    const [a, b] = [good.slice(0, 6), good.slice(6)];
    await producer.send({
      topic: config.topics.events,
      acks: -1,
      messages: [
        ...a.map(msg),
        { key: 'player-0', value: Buffer.from('not messagepack at all'), headers: { 'pp-id': 'junk' } },
        { key: 'player-1', value: encodeRecord({ ...(good[0] as EventRecord), player: 'player-2', id: 'mismatch' }) },
        { key: 'bad}id', value: encodeRecord({ ...(good[0] as EventRecord), player: 'bad}id', id: 'x' }) },
        { key: 'player-1', value: encodeRecord({ ...(good[1] as EventRecord), player: 'player-1', id: 'hostile', data: hostileData() }) },
        ...b.map(msg),
      ],
    });
    await producer.disconnect();
    await start(config, source);
    await drained(config);
    await assertState(config, good, source);

    const letters: KafkaMessage[] = [];
    const consumer = kafka.consumer({ groupId: `${config.keyPrefix}-dlq-reader` });
    await consumer.connect();
    await consumer.subscribe({ topic: config.topics.deadLetter, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void letters.push(message) });
    await waitUntil('four dead letters', () => letters.length >= 4);
    await consumer.disconnect();
    const h = (m: KafkaMessage, k: string) => m.headers?.[k]?.toString();
    expect(letters.map((m) => h(m, 'pp-dlq-reason'))).toEqual(['undecodable', 'key_mismatch', 'bad_player', 'undecodable']);
    expect(letters.map((m) => h(m, 'pp-dlq-offset'))).toEqual(['6', '7', '8', '9']);
    expect(h(letters[3] as KafkaMessage, 'pp-dlq-error')).toBe('record value refused: map key is not allowed (__proto__, constructor, prototype)');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(h(letters[0] as KafkaMessage, 'pp-id')).toBe('junk');
    expect(letters[0]?.value?.toString()).toBe('not messagepack at all');
    expect(h(letters[0] as KafkaMessage, 'pp-dlq-topic')).toBe(config.topics.events);
    expect(h(letters[1] as KafkaMessage, 'pp-dlq-error')).toMatch(/not the player id/);
  });

  it('applies an event whose recvAt is a year ahead at the processing time: last_seen, windows and the decider stay at now', async () => {
    const config = await setup(1);
    const source = new SwappableSource(compileGame());
    const t0 = Date.now();
    const yearAhead = t0 + 365 * DAY_MS;
    const base = { v: 1, player: 'future-1', edge: 'edge-test', session: 's-f' };
    const events: EventRecord[] = [
      { ...base, id: 'f-1', type: 'match.end', recvAt: t0 - 1_000, data: { result: 'loss' } },
      { ...base, id: 'f-2', type: 'match.end', recvAt: yearAhead, data: { result: 'loss' } },
      { ...base, id: 'f-3', type: 'shop.purchase', recvAt: yearAhead + 1, data: { sku: 'gems', coins: 7 } },
    ];
    const clampedBefore = await counterValue('playpulse_processor_future_recv_at_total');
    await produceRecords(kafka, config.topics.events, events);
    const { decider } = await start(config, source);
    await drained(config);
    const t1 = Date.now();

    const now = await readPlayerState(redis, config.keyPrefix, 'future-1', source.current(), t1);
    expect(now.events_total).toBe(3);
    expect(now.first_seen).toBe(t0 - 1_000);
    expect(now.last_seen).toBeGreaterThanOrEqual(t0);
    expect(now.last_seen).toBeLessThanOrEqual(t1);
    expect(now.props).toMatchObject({ matches: 2, losses_10m: 2, coins_7d: 7, coins_total: 7 });
    const then = await readPlayerState(redis, config.keyPrefix, 'future-1', source.current(), yearAhead);
    expect(then.props).toMatchObject({ losses_10m: 0, coins_7d: 0 });
    const times = decider.events.map((e) => e.record.recvAt);
    expect(times[0]).toBe(t0 - 1_000);
    for (const t of times.slice(1)) {
      expect(t).toBeGreaterThanOrEqual(t0);
      expect(t).toBeLessThanOrEqual(t1);
    }
    expect((await counterValue('playpulse_processor_future_recv_at_total')) - clampedBefore).toBe(2);
  });

  it('applies a newly published properties file from the next batch: added ones start then, removed ones stop', async () => {
    const config = await setup(1);
    const source = new SwappableSource(compileGame());
    const before = gameEvents(2, 10, 5, 'before');
    await produceRecords(kafka, config.topics.events, before);
    await start(config, source);
    await drained(config);

    const swapped = compileGame(`
properties:
  matches:     { count: { event: match.end } }
  wins:        { count: { event: match.end, when: 'event.data.result == "win"' } }
`);
    source.swap(swapped);
    const after = gameEvents(2, 10, 6, 'after').map((e, i) => ({ ...e, recvAt: BASE_TIME + 1_000 + i }));
    await produceRecords(kafka, config.topics.events, after);
    await drained(config);

    const all = [...before, ...after];
    const everything = expectedStates(all);
    const onlyBefore = expectedStates(before);
    for (const player of ['player-0', 'player-1']) {
      const state = await readPlayerState(redis, config.keyPrefix, player, swapped, BASE_TIME + 2_000);
      const wins = after.filter((e) => e.player === player && e.type === 'match.end' && e.data?.result === 'win').length;
      expect(state.props).toEqual({ matches: everything.get(player)?.props.matches, wins });
      expect(state.events_total).toBe(all.filter((e) => e.player === player).length);
      const old = await readPlayerState(redis, config.keyPrefix, player, compileGame(), BASE_TIME + 2_000);
      expect(old.props.coins_total).toBe(onlyBefore.get(player)?.props.coins_total);
    }
  });
});
