import { resolve } from 'node:path';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signPlayerToken } from '../../edge/auth.ts';
import { startEdge, type RunningEdge } from '../../edge/index.ts';
import type { Config } from '../../lib/config.ts';
import { Health } from '../../lib/health.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { startTracing, TRACEPARENT, type Tracing } from '../../lib/tracing.ts';
import { BundleStore } from '../../designer/store.ts';
import { createDecider, type ClosableDecider } from '../../offers/engine/decider.ts';
import { assignVariant, inHoldout } from '../../offers/engine/hashing.ts';
import { startProcessors, type Processors } from '../../processors/index.ts';
import { TestClient } from '../faults/client.ts';
import { cleanupRedisPrefix, createTestTopics, testConfig } from '../helpers/stack.ts';
import { readTopicRecords } from '../integrity/readers.ts';
import { eventually } from './offers-fixtures.ts';

/**
 * One trace per sampled frame, across every hop of a real offer (lib/tracing.ts): a real
 * client → edge (`edge.receive`) → Kafka (the `traceparent` record header) → processor
 * (`processor.apply`, `processor.decide`) → the offer's routing (`offers.route`, the
 * traceparent in the offer-channel message) → the edge's push (`edge.push`). Spans go to an
 * in-memory exporter shared by the roles of this process. A second edge with sampling at 0
 * shows the other half: its records carry no header, and nothing downstream traces them.
 */
const RULES_DIR = resolve(import.meta.dirname, '../../offers/rules');

let config: Config;
let redis: RedisClient;
let deciderRedis: RedisClient;
let store: BundleStore;
let exporter: InMemorySpanExporter;
let traced: Tracing;
let unsampled: Tracing;
let edge: RunningEdge;
let quietEdge: RunningEdge;
let decider: ClosableDecider;
let processors: Processors;
const clients: TestClient[] = [];

beforeAll(async () => {
  config = testConfig();
  await createTestTopics(config);
  redis = createRedis(config.redisUrl ?? '', 'test-tracing');
  deciderRedis = createRedis(config.redisUrl ?? '', 'test-tracing-decider');
  store = await BundleStore.open(redis, config.keyPrefix, { fallbackDir: RULES_DIR });
  exporter = new InMemorySpanExporter();
  traced = startTracing({ endpoint: null, sampleRate: 1 }, 'test-traced', exporter) as Tracing;
  unsampled = startTracing({ endpoint: null, sampleRate: 0 }, 'test-unsampled', exporter) as Tracing;
  const health = new Health();
  decider = createDecider({ config, redis: deciderRedis, bundles: store, queues: null, tracing: traced });
  processors = await startProcessors({ config, health, bundles: store, decider, sessionTimeoutMs: 10_000, tracing: traced });
  edge = await startEdge({ config, health, bundles: store, tracing: traced });
  quietEdge = await startEdge({ config: { ...config, instanceId: `${config.instanceId}-quiet` }, health, bundles: store, tracing: unsampled });
});

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await edge?.stop();
  await quietEdge?.stop();
  await processors?.stop();
  await decider?.close();
  await store?.close();
  await traced?.shutdown();
  await unsampled?.shutdown();
  await cleanupRedisPrefix(redis, config.keyPrefix);
  redis.disconnect();
  deciderRedis.disconnect();
});

async function connect(port: number, player: string): Promise<TestClient> {
  const token = await signPlayerToken(config.authSecret, player, 3600);
  const c = await TestClient.connect(`ws://127.0.0.1:${port}/v1/play`, token);
  clients.push(c);
  return c;
}

/** A sample-game player whom neither the holdout nor the comeback control arm keeps from the offer. */
function offeredPlayer(tag: string): string {
  const rule = store.current().rules.find((r) => r.id === 'comeback-bundle');
  if (!rule) throw new Error('the sample rules lost comeback-bundle');
  for (let i = 0; ; i += 1) {
    const id = `${tag}-${i}`;
    if (!inHoldout(id, store.current().policy.holdoutPercent) && assignVariant(id, rule)?.holdout !== true) return id;
  }
}

const losses = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, type: 'match.end', data: { result: 'loss', mode: 'ranked' } }));
const ofPlayer = (player: string) => (s: ReadableSpan) => s.attributes['playpulse.player'] === player;
const named = (spans: readonly ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

describe('traces across the pipeline (real Kafka, Redis, WebSocket)', () => {
  it('a sampled frame is one trace from the edge receipt to the push of its offer', async () => {
    const player = offeredPlayer('traced');
    const c = await connect(edge.port, player);
    c.sendEvents(losses('l', 3));
    await c.until(() => c.offers.length > 0, 60_000);
    const offer = c.offers[0];
    expect(offer?.ruleId).toBe('comeback-bundle');

    const spans = await eventually(async () => {
      const mine = exporter.getFinishedSpans().filter(ofPlayer(player));
      return named(mine, 'edge.push').length > 0 && named(mine, 'processor.decide').length === 3 ? mine : undefined;
    });
    const [receive] = named(spans, 'edge.receive');
    expect(named(spans, 'edge.receive')).toHaveLength(1);
    expect(receive?.attributes['playpulse.events']).toBe(3);
    const traceId = receive?.spanContext().traceId;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(spans.every((s) => s.spanContext().traceId === traceId)).toBe(true);

    const parentOf = (s: ReadableSpan | undefined) => s?.parentSpanContext?.spanId;
    const applies = named(spans, 'processor.apply');
    expect(applies.map((s) => s.attributes['playpulse.event']).sort()).toEqual(['l-0', 'l-1', 'l-2']);
    for (const apply of applies) expect(parentOf(apply)).toBe(receive?.spanContext().spanId);
    const decides = named(spans, 'processor.decide');
    for (const decide of decides) {
      const apply = applies.find((a) => a.attributes['playpulse.event'] === decide.attributes['playpulse.event']);
      expect(parentOf(decide)).toBe(apply?.spanContext().spanId);
    }
    const routes = named(spans, 'offers.route');
    expect(routes).toHaveLength(1);
    const [route] = routes;
    expect(route?.attributes['playpulse.offer']).toBe(offer?.id);
    expect(route?.attributes['playpulse.edges']).toBe(1);
    expect(parentOf(route)).toBe(decides.find((d) => d.attributes['playpulse.event'] === 'l-2')?.spanContext().spanId);
    const [push] = named(spans, 'edge.push');
    expect(push?.attributes).toMatchObject({ 'playpulse.offer': offer?.id, 'playpulse.sockets': 1 });
    expect(parentOf(push)).toBe(route?.spanContext().spanId);

    const records = (await readTopicRecords(config.kafkaBrokers ?? [], config.topics.events)).filter((r) => r.key === player);
    expect(records).toHaveLength(3);
    for (const r of records) expect(r.headers?.[TRACEPARENT]).toBe(`00-${traceId}-${receive?.spanContext().spanId}-01`);
  });

  it('an unsampled frame carries no traceparent, and no hop traces it', async () => {
    const player = offeredPlayer('quiet');
    const c = await connect(quietEdge.port, player);
    c.sendEvents(losses('q', 3));
    await c.until(() => c.offers.length > 0, 60_000);
    const records = await eventually(async () => {
      const mine = (await readTopicRecords(config.kafkaBrokers ?? [], config.topics.events)).filter((r) => r.key === player);
      return mine.length === 3 ? mine : undefined;
    });
    for (const r of records) expect(Object.keys(r.headers ?? {})).toEqual(['pp-type']);
    // The offer was made and pushed: every hop ran, and none made a span for this player.
    expect(exporter.getFinishedSpans().filter(ofPlayer(player))).toEqual([]);
  });
});
