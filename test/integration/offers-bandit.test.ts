/**
 * `allocation: bandit` through the real decision path against real Redis: the shares follow
 * the weights during warm-up, then the purchases recorded by real `offer.purchased`
 * responses move them to the arm that sells; holdout arms keep their share; a process keeps
 * its shares for its refresh interval; a player keeps the arm of their first offer; shadow rules do not learn; the stats API serves each
 * arm's share and posterior.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { staticBundleSource } from '../../designer/store.ts';
import type { Bundle } from '../../designer/types.ts';
import { createDecider, type ClosableDecider } from '../../offers/engine/decider.ts';
import type { DecisionRecord } from '../../offers/engine/explain.ts';
import { ruleStats } from '../../offers/admin/stats.ts';
import { decideEvent } from '../../offers/engine/decide.ts';
import { conditionInput } from '../../offers/engine/input.ts';
import { playerKeys } from '../../lib/keys.ts';
import { cleanupRedisPrefix, testConfig } from '../helpers/stack.ts';
import { applied, baseFiles, bundleOf, loss } from './offers-fixtures.ts';

const clients: RedisClient[] = [];
const prefixes: { redis: RedisClient; prefix: string }[] = [];

afterAll(async () => {
  for (const { redis, prefix } of prefixes) await cleanupRedisPrefix(redis, prefix);
  for (const c of clients) c.disconnect();
});

const boosterYaml = (id: string, mode: 'live' | 'shadow') => `id: ${id}
mode: ${mode}
priority: ${mode === 'live' ? 100 : 50}
trigger:
  event: match.end
  when: 'event.data.result == "loss"'
offer:
  sku: booster.${id}
  price: { amount: 199, currency: USD }
  ttl: 1h
experiment:
  allocation: bandit
  bandit: { objective: purchase_rate, minShare: 0.05, warmup: 20 }
  variants:
    - { name: control, weight: 10, holdout: true }
    - { name: a, weight: 45 }
    - { name: b, weight: 45, offer: { price: { amount: 299, currency: USD } } }
`;

interface Rig {
  decider: ClosableDecider;
  decided: { player: string; record: DecisionRecord }[];
}

function rig(bundle: Bundle, config: Config, redis: RedisClient, banditRefreshMs: number): Rig {
  const decided: Rig['decided'] = [];
  const decider = createDecider({
    config,
    redis,
    bundles: staticBundleSource(bundle),
    queues: null,
    publish: async () => 0,
    onDecision: (player, record) => decided.push({ player, record }),
    banditRefreshMs,
  });
  return { decider, decided };
}

/** Arm of rule `ruleId` in each decision, counted; `offered` only those with an offer of that rule. */
function arms(decided: Rig['decided'], ruleId: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of decided) {
    const r = d.record.rules.find((x) => x.ruleId === ruleId);
    if (r?.variant) out[r.variant] = (out[r.variant] ?? 0) + 1;
  }
  return out;
}

const losses = (tag: string, n: number, at: number) => Array.from({ length: n }, (_, i) => loss(`${tag}-${i}`, at + i, 3, `${tag}-loss-${i}`));

describe('allocation: bandit through the decision path', () => {
  it('learns from real purchases: the arm that sells gets the players, holdouts keep their share, shadow rules keep their weights', async () => {
    const config = testConfig();
    const redis = createRedis(config.redisUrl ?? '', 'test-offers-bandit', { enableAutoPipelining: true });
    clients.push(redis);
    prefixes.push({ redis, prefix: config.keyPrefix });
    const bundle = bundleOf(baseFiles({ 'booster.yaml': boosterYaml('booster', 'live'), 'booster-shadow.yaml': boosterYaml('booster-shadow', 'shadow') }));
    const rule = bundle.rules.find((r) => r.id === 'booster');
    const shadow = bundle.rules.find((r) => r.id === 'booster-shadow');
    if (!rule || !shadow) throw new Error('test bundle lacks its rules');
    const at = Date.now();

    // Every batch reads the counters again (refresh 0); a second process keeps its shares an hour.
    const live = rig(bundle, config, redis, 0);
    const slow = rig(bundle, config, redis, 3_600_000);
    await slow.decider.decideBatch(losses('early', 10, at));
    expect(slow.decider.context.bandits?.allocationOf(rule)?.warmingUp).toBe(true);

    // Warm-up: by weight, 10 % control (no offer), 45 % each priced arm.
    await live.decider.decideBatch(losses('warm', 200, at));
    const warm = arms(live.decided, 'booster');
    expect((warm.a ?? 0) + (warm.b ?? 0) + (warm.control ?? 0)).toBe(200);
    expect(warm.a).toBeGreaterThan(70);
    expect(warm.b).toBeGreaterThan(70);
    expect(warm.control).toBeGreaterThan(8);
    expect(warm.control).toBeLessThan(35);
    const controlRecords = live.decided.filter((d) => d.record.rules.find((x) => x.ruleId === 'booster')?.variant === 'control');
    expect(controlRecords.every((d) => d.record.rules.find((x) => x.ruleId === 'booster')?.outcome === 'control_arm' && d.record.offerId === null)).toBe(true);

    // Every offer of arm b is bought, none of arm a: real responses through the decider.
    const bOffers = live.decided.filter((d) => {
      const r = d.record.rules.find((x) => x.ruleId === 'booster');
      return r?.variant === 'b' && r.outcome === 'offered';
    });
    expect(bOffers.length).toBe(warm.b);
    await live.decider.decideBatch(bOffers.map((d, i) => applied(d.player, 'offer.purchased', { offerId: d.record.offerId }, at + 60_000 + i)));

    // The next batch reads the purchases: arm b gets about 0.9 × 0.95 of the players, a its 0.9 × 0.05 floor.
    const before = live.decided.length;
    await live.decider.decideBatch(losses('learned', 400, at + 120_000));
    const learned = arms(live.decided.slice(before), 'booster');
    expect(learned.b).toBeGreaterThan(300);
    expect(learned.a).toBeGreaterThan(5);
    expect(learned.a).toBeLessThan(40);
    expect(learned.control).toBeGreaterThan(20);
    expect(learned.control).toBeLessThan(65);
    const allocation = live.decider.context.bandits?.allocationOf(rule);
    expect(allocation?.warmingUp).toBe(false);
    expect(allocation?.arms.map((a) => [a.name, Number(a.share.toFixed(3))])).toEqual([
      ['control', 0.1],
      ['a', 0.045],
      ['b', 0.855],
    ]);

    // Players keep the arm of their first offer: warm-up players of arm a get arm a again, at its price.
    const pinnedA = live.decided
      .filter((d) => d.player.startsWith('warm-') && d.record.rules.find((x) => x.ruleId === 'booster')?.variant === 'a' && d.record.offerId !== null)
      .slice(0, 20)
      .map((d) => d.player);
    expect(pinnedA).toHaveLength(20);
    const beforeAgain = live.decided.length;
    await live.decider.decideBatch(pinnedA.map((p, i) => loss(p, at + 150_000 + i, 3, `${p}-again`)));
    const again = live.decided.slice(beforeAgain);
    expect(again.map((d) => d.record.rules.find((x) => x.ruleId === 'booster')?.variant)).toEqual(pinnedA.map(() => 'a'));
    expect(again.every((d) => d.record.rules.find((x) => x.ruleId === 'booster')?.outcome === 'offered')).toBe(true);
    const pinnedKeys = await Promise.all(pinnedA.map((p) => redis.hget(playerKeys(config.keyPrefix, p).limits, 'a:booster')));
    expect(pinnedKeys).toEqual(pinnedA.map(() => 'a'));
    expect((await Promise.all(pinnedA.map((p) => redis.pttl(playerKeys(config.keyPrefix, p).limits)))).every((ms) => ms > 0)).toBe(true);
    // Pinned on the per-event path too (follow-ups, refused batched writes).
    const first = pinnedA[0] as string;
    const slowPath = await decideEvent(live.decider.context, {
      playerId: first,
      eventId: `${first}-slow`,
      eventType: 'match.end',
      at: at + 160_000,
      input: conditionInput(loss(first, at + 160_000).record, loss(first, at + 160_000).state, bundle),
      rules: bundle.rulesByEvent.get('match.end') ?? [],
      bundle,
      position: { partition: 0, offset: String(10_000_000) },
    });
    expect(slowPath.status === 'decided' && slowPath.offer?.variant).toBe('a');

    // The slow process still has its warm-up shares: no read before its refresh interval is over.
    const slowBefore = slow.decided.length;
    await slow.decider.decideBatch(losses('slow', 200, at + 180_000));
    const slowArms = arms(slow.decided.slice(slowBefore), 'booster');
    expect(slow.decider.context.bandits?.allocationOf(rule)?.warmingUp).toBe(true);
    expect(slowArms.a).toBeGreaterThan(70);

    // The shadow rule: evaluated, never delivered, so never learning; it keeps its weights.
    expect(live.decider.context.bandits?.allocationOf(shadow)).toBeUndefined();
    const shadowArms = arms(live.decided.slice(before), 'booster-shadow');
    expect(shadowArms.a).toBeGreaterThan(140);
    expect(shadowArms.b).toBeGreaterThan(140);

    // The stats API: each arm's current share and posterior, from the same counters.
    const rows = await ruleStats(redis, config.keyPrefix, bundle);
    const row = (ruleId: string, variant: string) => rows.find((r) => r.ruleId === ruleId && r.variant === variant);
    const a = row('booster', 'a');
    const b = row('booster', 'b');
    expect(row('booster', 'control')?.bandit).toEqual({ objective: 'purchase_rate', share: 0.1, warmingUp: false, mean: null, low: null, high: null });
    expect(b?.bandit?.share).toBeCloseTo(0.855, 3);
    expect(a?.bandit?.share).toBeCloseTo(0.045, 3);
    expect(b?.purchased).toBe(warm.b);
    // b: every offer of the warm-up bought, none since: Beta(1 + purchases, 1 + offers − purchases).
    const bOffered = b?.offered ?? 0;
    expect(b?.bandit?.mean).toBeCloseTo((1 + (warm.b ?? 0)) / (2 + bOffered), 6);
    expect(a?.bandit?.mean).toBeCloseTo(1 / (2 + (a?.offered ?? 0)), 6);
    for (const r of [a, b]) {
      expect(r?.bandit?.low).toBeLessThan(r?.bandit?.mean ?? 0);
      expect(r?.bandit?.high).toBeGreaterThan(r?.bandit?.mean ?? 1);
    }
    expect(a?.bandit?.high).toBeLessThan(b?.bandit?.low ?? 0);
    expect(row('booster-shadow', 'a')?.bandit).toBeNull();
    expect(row('booster-shadow', 'a')?.shadow_offered).toBeGreaterThan(0);
  });
});
