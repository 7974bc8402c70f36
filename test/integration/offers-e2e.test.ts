import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge, type RunningEdge } from '../../edge/index.ts';
import { signPlayerToken } from '../../edge/auth.ts';
import type { Config } from '../../lib/config.ts';
import { Health } from '../../lib/health.ts';
import { playerKeys } from '../../lib/keys.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { BundleStore } from '../../designer/store.ts';
import { startDecisionLog } from '../../offers/engine/decision-log.ts';
import { createLogger } from '../../lib/log.ts';
import { createDecider, type ClosableDecider } from '../../offers/engine/decider.ts';
import { assignVariant, inHoldout } from '../../offers/engine/hashing.ts';
import { startOffers } from '../../offers/index.ts';
import { startProcessors, type Processors } from '../../processors/index.ts';
import { TestClient } from '../faults/client.ts';
import { cleanupRedisPrefix, createTestTopics, testConfig } from '../helpers/stack.ts';
import { eventually } from './offers-fixtures.ts';

/**
 * End to end with the sample game (offers/rules/): a real game client over WebSocket →
 * edge → Kafka → processors (state) → offers engine → back over the socket; explanations
 * through the admin API.
 */
const RULES_DIR = resolve(import.meta.dirname, '../../offers/rules');

let config: Config;
let redis: RedisClient;
let deciderRedis: RedisClient;
let store: BundleStore;
let edge: RunningEdge;
let decider: ClosableDecider;
let decisions: Awaited<ReturnType<typeof startDecisionLog>>;
let processors: Processors;
let offers: { adminPort: number; stop(): Promise<void> };
const clients: TestClient[] = [];

beforeAll(async () => {
  config = testConfig({ PLAYPULSE_ADMIN_TOKEN: 'admin-token-for-tests-0123456789' });
  await createTestTopics(config);
  redis = createRedis(config.redisUrl ?? '', 'test-e2e');
  deciderRedis = createRedis(config.redisUrl ?? '', 'test-e2e-decider');
  store = await BundleStore.open(redis, config.keyPrefix, { fallbackDir: RULES_DIR });
  const health = new Health();
  offers = await startOffers({ config, health, bundles: store });
  decisions = await startDecisionLog(config, createLogger('test-e2e-decisions'));
  decider = createDecider({ config, redis: deciderRedis, bundles: store, decisionLog: decisions.log });
  processors = await startProcessors({ config, health, bundles: store, decider, sessionTimeoutMs: 10_000 });
  edge = await startEdge({ config, health, bundles: store });
});

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await edge?.stop();
  await processors?.stop();
  await decider?.close();
  await decisions?.log.close();
  await offers?.stop();
  await store?.close();
  await cleanupRedisPrefix(redis, config.keyPrefix);
  redis.disconnect();
  deciderRedis.disconnect();
});

async function connect(player: string): Promise<TestClient> {
  const token = await signPlayerToken(config.authSecret, player, 3600);
  const c = await TestClient.connect(`ws://127.0.0.1:${edge.port}/v1/play`, token);
  clients.push(c);
  return c;
}

async function admin(path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${offers.adminPort}${path}`, { headers: { authorization: 'Bearer admin-token-for-tests-0123456789' } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

interface Decision {
  eventId: string;
  offerId: string | null;
  rules: { ruleId: string; outcome: string; reason: string; until?: number; values: Record<string, unknown> }[];
}

const decisionsOf = async (player: string) => (await admin(`/v1/players/${player}/decisions`)).decisions as Decision[];

/** A player id of the sample game that the holdout (5 %) and the comeback control arm leave in or out. */
function samplePlayer(tag: string, wantOffer: boolean): string {
  const rule = store.current().rules.find((r) => r.id === 'comeback-bundle');
  if (!rule) throw new Error('the sample rules lost comeback-bundle');
  for (let i = 0; ; i += 1) {
    const id = `${tag}-${i}`;
    const held = inHoldout(id, store.current().policy.holdoutPercent);
    const control = assignVariant(id, rule)?.holdout === true;
    if (wantOffer ? !held && !control : held) return id;
  }
}

const losses = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, type: 'match.end', data: { result: 'loss', mode: 'ranked' } }));

describe('comeback offer, end to end (real Kafka, Redis, BullMQ, WebSocket)', () => {
  it('sends the offer over the socket after a losing streak, and explains why', async () => {
    const player = samplePlayer('e2e', true);
    const c = await connect(player);
    c.sendEvents(losses('l', 3));
    await c.until(() => c.offers.length > 0, 60_000);
    const [offer] = c.offers;
    expect(offer).toMatchObject({ ruleId: 'comeback-bundle', sku: 'bundle.comeback.small', price: { amount: 199, currency: 'USD' }, variant: 'a' });
    const decisions = await eventually(async () => {
      const d = await decisionsOf(player);
      return d.length >= 3 ? d : undefined;
    });
    const offered = decisions.find((d) => d.offerId === offer?.id);
    expect(offered?.eventId).toBe('l-2');
    const rule = offered?.rules.find((r) => r.ruleId === 'comeback-bundle');
    expect(rule).toMatchObject({ outcome: 'offered', values: { 'event.data.result': 'loss', 'player.loss_streak': 3 } });
    expect(decisions.find((d) => d.eventId === 'l-1')?.rules.find((r) => r.ruleId === 'comeback-bundle')).toMatchObject({
      outcome: 'condition_false',
      values: { 'player.loss_streak': 2 },
    });

    c.sendEvents(losses('m', 1));
    const cooled = await eventually(async () => (await decisionsOf(player)).find((d) => d.eventId === 'm-0'));
    const again = cooled.rules.find((r) => r.ruleId === 'comeback-bundle');
    expect(again?.outcome).toBe('cooldown');
    expect(again?.reason).toMatch(/^cooldown until \d{4}-\d\d-\d\dT/);

    c.sendEvents([...losses('l', 3), ...losses('m', 1)]);
    await c.until(() => ['l-0', 'l-1', 'l-2', 'm-0'].every((id) => c.acked.has(id)));
    c.sendEvents([{ id: 'probe', type: 'match.end', data: { result: 'win' } }]);
    await eventually(async () => ((await decisionsOf(player)).some((d) => d.eventId === 'probe') ? true : undefined));
    expect(c.offers).toHaveLength(1);
    expect(await decisionsOf(player)).toHaveLength(5);
    expect(await redis.zcard(playerKeys(config.keyPrefix, player).inbox)).toBe(1);

    c.sendEvents([{ id: 'seen', type: 'offer.shown', data: { offerId: offer?.id } }]);
    await eventually(async () => ((await redis.zcard(playerKeys(config.keyPrefix, player).inbox)) === 0 ? true : undefined));
    const stats = (await admin('/v1/stats/rules')).rules as { ruleId: string; variant: string; offered: number; shown: number; delivered: number }[];
    expect(stats.find((r) => r.ruleId === 'comeback-bundle' && r.variant === 'a')).toMatchObject({ offered: 1, shown: 1, delivered: 1 });
  });

  it('never sends an offer to a player in the holdout', async () => {
    const player = samplePlayer('held', false);
    const c = await connect(player);
    c.sendEvents(losses('h', 4));
    const decisions = await eventually(async () => {
      const d = await decisionsOf(player);
      return d.length >= 4 ? d : undefined;
    });
    expect(c.offers).toEqual([]);
    expect(decisions.filter((d) => d.offerId !== null)).toEqual([]);
    expect(decisions[0]?.rules.find((r) => r.ruleId === 'comeback-bundle')?.outcome).toBe('holdout');
  });
});
