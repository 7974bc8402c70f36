/**
 * Lift against the global holdout (docs/offers.md, "Lift") with real Redis: a live rule's
 * trigger opens an attribution window for the player in their group (variant or holdout),
 * spend inside the window — the policy's revenue event and offer purchases — counts once
 * towards it, and the stats endpoint compares spend per exposed player with the holdout's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.ts';
import { offerKeys, playerKeys } from '../../lib/keys.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { liftInterval, ruleStats } from '../../offers/admin/stats.ts';
import { staticBundleSource } from '../../designer/store.ts';
import type { Bundle } from '../../designer/types.ts';
import { createDecider, type ClosableDecider } from '../../offers/engine/decider.ts';
import { inHoldout, offerIdFor } from '../../offers/engine/hashing.ts';
import { decideEvent } from '../../offers/engine/decide.ts';
import { conditionInput } from '../../offers/engine/input.ts';
import type { AppliedEvent } from '../../processors/decider-seam.ts';
import { cleanupRedisPrefix, testConfig } from '../helpers/stack.ts';
import { noonDaysAgo } from '../helpers/time.ts';
import { applied, baseFiles, bundleOf, comebackYaml, loss } from './offers-fixtures.ts';

/** Two days ago: the windows of these tests span up to 28 h after it. */
const T0 = noonDaysAgo(2);
const HOUR = 3_600_000;
const HOLDOUT = 50;
const REVENUE = '{ event: shop.purchase, amount: data.amount, currency: data.currency, window: 24h }';

let config: Config;
let redis: RedisClient;
let decider: ClosableDecider;
let bundle: Bundle;

beforeAll(() => {
  config = testConfig();
  redis = createRedis(config.redisUrl ?? '', 'test-lift');
  bundle = bundleOf(
    baseFiles(
      {
        'comeback.yaml': comebackYaml(),
        'comeback-shadow.yaml': comebackYaml({ id: 'comeback-shadow', mode: 'shadow', priority: 50 }),
      },
      { holdoutPercent: HOLDOUT, revenue: REVENUE },
    ),
  );
  decider = createDecider({ config, redis, bundles: staticBundleSource(bundle), queues: null });
});

afterAll(async () => {
  await decider.close();
  await cleanupRedisPrefix(redis, config.keyPrefix);
  redis.disconnect();
});

/** The first `n` player ids of `prefix-<i>` in (or out of) the holdout. */
function players(prefix: string, held: boolean, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i += 1) if (inHoldout(`${prefix}-${i}`, HOLDOUT) === held) out.push(`${prefix}-${i}`);
  return out;
}

const shop = (player: string, at: number, amount: unknown, currency: unknown = 'USD') => applied(player, 'shop.purchase', { amount, currency }, at);
const stats = () => redis.hgetall(offerKeys(config.keyPrefix).stats('comeback'));

describe('lift against the global holdout', () => {
  const [a, b] = players('treated', false, 2) as [string, string];
  const [h1, h2] = players('held', true, 2) as [string, string];
  const trigger = loss(a, T0, 3, 'a-loss-1');
  const events: AppliedEvent[] = [
    trigger,
    // A buys the offer it got (199 USD, the offer price) and something else in the store.
    applied(a, 'offer.purchased', { offerId: offerIdFor('comeback', a, 'a-loss-1') }, T0 + 60_000),
    shop(a, T0 + 2 * HOUR, 500),
    // A triggers again: the same window is extended to T0 + 3h + 24h, no second exposure.
    loss(a, T0 + 3 * HOUR, 4),
    shop(a, T0 + 26 * HOUR, 100),
    // Outside the window: not attributed.
    shop(a, T0 + 28 * HOUR, 7_000),
    loss(b, T0, 3),
    // Holdout players trigger the rule, get no offer, and spend on their own.
    shop(h1, T0 - HOUR, 9_000), // before any trigger: not attributed
    loss(h1, T0, 3),
    shop(h1, T0 + HOUR, 300),
    shop(h1, T0 + 2 * HOUR, 40, 'EUR'),
    loss(h2, T0, 3),
    // Unusable spend: a negative amount, a currency that is not a code.
    shop(h2, T0 + HOUR, -5),
    shop(h2, T0 + HOUR, 50, 'usd'),
    // A player who never triggered the rule.
    shop('bystander', T0, 1_000),
  ];

  it('counts exposures per group and spend inside the windows, once', async () => {
    await decider.decideBatch(events);
    expect(await stats()).toMatchObject({
      'default|triggered': '5', // A twice, B, and the two holdout players (blocked as holdout)
      'default|offered': '3',
      'default|purchased': '1',
      'default|revenue|USD': '199',
      'default|exposed': '2',
      'default|spend|USD': String(199 + 500 + 100),
      '(holdout)|exposed': '2',
      '(holdout)|spend|USD': '300',
      '(holdout)|spend|EUR': '40',
      // Sum over windows of each window's spend squared: A's one window 799, B's 0; H1's 300 USD and 40 EUR.
      'default|spendsq|USD': String(799 ** 2),
      '(holdout)|spendsq|USD': String(300 ** 2),
      '(holdout)|spendsq|EUR': String(40 ** 2),
    });
    // The holdout's triggers stay in their variant, blocked as `holdout`; it has no funnel row of its own.
    expect((await stats())['(holdout)|triggered']).toBeUndefined();

    // A redelivered batch changes nothing: decisions and spend are both once per event.
    const before = await stats();
    await decider.decideBatch(events);
    await Promise.all([decider.decideBatch(events), decider.decideBatch(events)]);
    expect(await stats()).toEqual(before);
  });

  it('leaves shadow rules out: they reach nobody, so they have no exposures', async () => {
    const shadow = await redis.hgetall(offerKeys(config.keyPrefix).stats('comeback-shadow'));
    expect(Number(shadow['default|triggered'])).toBeGreaterThan(0);
    expect(Object.keys(shadow).filter((k) => k.includes('exposed') || k.includes('spend'))).toEqual([]);
  });

  it('serves spend per exposed player and the lift against the holdout', async () => {
    const rows = await ruleStats(redis, config.keyPrefix, bundle);
    const comeback = rows.filter((r) => r.ruleId === 'comeback');
    expect(comeback.map((r) => r.variant)).toEqual(['default', '(holdout)']);
    const [treated, held] = comeback as [(typeof rows)[0], (typeof rows)[0]];
    expect(treated).toMatchObject({ exposed: 2, spend: 799, spendCurrency: 'USD', spendPerExposed: 399.5 });
    expect(held).toMatchObject({ exposed: 2, spend: 300, spendCurrency: 'USD', spendByCurrency: { USD: 300, EUR: 40 }, spendPerExposed: 150, lift: null, triggered: 0 });
    expect(treated.lift).toBeCloseTo(399.5 / 150 - 1, 10);
    // Windows [799, 0] against [300, 0]: two a side, so an interval, and a very wide one.
    const ci = liftInterval({ n: 2, sum: 799, sumSq: 799 ** 2 }, { n: 2, sum: 300, sumSq: 300 ** 2 });
    expect(ci).not.toBeNull();
    expect(treated).toMatchObject({ spendSq: 799 ** 2, liftLow: ci?.low, liftHigh: ci?.high });
    expect(treated.liftLow).toBeLessThan(0);
    expect(treated.liftHigh).toBeGreaterThan(treated.lift ?? 0);
    expect(held).toMatchObject({ spendSq: 300 ** 2, liftLow: null, liftHigh: null });
    const shadow = rows.find((r) => r.ruleId === 'comeback-shadow');
    expect(shadow).toMatchObject({ exposed: 0, spend: 0, spendPerExposed: null, lift: null });
  });

  it('keeps the windows on the player’s slot, dropped once closed and expiring on their own', async () => {
    const open = playerKeys(config.keyPrefix, b).attribution;
    expect(await redis.hget(open, 'comeback')).toBe(`default|${T0 + 24 * HOUR}`);
    const ttl = await redis.pttl(open);
    expect(ttl).toBeGreaterThan(23 * HOUR);
    expect(ttl).toBeLessThanOrEqual(24 * HOUR);
    // A's window closed at T0 + 27h; the spend at T0 + 28h found it closed and dropped it.
    expect(await redis.hget(playerKeys(config.keyPrefix, a).attribution, 'comeback')).toBeNull();
  });

  it('keeps each window’s own spend for the sum of squares, and starts a new window from zero', async () => {
    const [c] = players('squares', false, 1) as [string];
    const before = await stats();
    const at = T0 + 100 * HOUR;
    await decider.decideBatch([loss(c, at, 3, 'c-loss-1'), shop(c, at + HOUR, 100), shop(c, at + 2 * HOUR, 200)]);
    expect(await redis.hget(playerKeys(config.keyPrefix, c).attribution, 'comeback|USD')).toBe('300');
    // The window closes at +24h; a trigger after it opens a new one whose spend starts at 0.
    await decider.decideBatch([loss(c, at + 30 * HOUR, 3, 'c-loss-2'), shop(c, at + 31 * HOUR, 50)]);
    expect(await redis.hget(playerKeys(config.keyPrefix, c).attribution, 'comeback|USD')).toBe('50');
    const after = await stats();
    const delta = (field: string) => Number(after[field] ?? 0) - Number(before[field] ?? 0);
    expect(delta('default|exposed')).toBe(2);
    expect(delta('default|spend|USD')).toBe(350);
    expect(delta('default|spendsq|USD')).toBe(300 ** 2 + 50 ** 2);
  });

  it('opens the windows on the per-event path too (follow-ups, refused batched writes), once per event', async () => {
    const [d] = players('slow', false, 1) as [string];
    const before = await stats();
    const at = T0 + 200 * HOUR;
    const decide = (eventId: string, when: number, offset: number) => {
      const e = loss(d, when, 3, eventId);
      return decideEvent(decider.context, {
        playerId: d,
        eventId,
        eventType: 'match.end',
        at: when,
        input: conditionInput(e.record, e.state, bundle),
        rules: bundle.rulesByEvent.get('match.end') ?? [],
        bundle,
        position: { partition: 0, offset: String(offset) },
      });
    };
    expect((await decide('d-1', at, 1)).status).toBe('decided');
    expect(await redis.hget(playerKeys(config.keyPrefix, d).attribution, 'comeback')).toBe(`default|${at + 24 * HOUR}`);
    // The same event again: found decided, nothing opened or counted.
    expect((await decide('d-1', at, 1)).status).toBe('duplicate');
    // A later trigger of the same group: the window is extended, not counted again.
    expect((await decide('d-2', at + HOUR, 2)).status).toBe('decided');
    expect(await redis.hget(playerKeys(config.keyPrefix, d).attribution, 'comeback')).toBe(`default|${at + 25 * HOUR}`);
    const after = await stats();
    expect(Number(after['default|exposed'] ?? 0) - Number(before['default|exposed'] ?? 0)).toBe(1);
  });

  it('attributes nothing when the policy declares no revenue event', async () => {
    const plain = bundleOf(baseFiles({ 'comeback.yaml': comebackYaml() }, { holdoutPercent: HOLDOUT }));
    const cfg = testConfig();
    const d = createDecider({ config: cfg, redis, bundles: staticBundleSource(plain), queues: null });
    try {
      await d.decideBatch([loss(a, T0, 3, 'x1'), loss(h1, T0, 3, 'x2'), shop(a, T0 + HOUR, 500), shop(h1, T0 + HOUR, 500)]);
      const s = await redis.hgetall(offerKeys(cfg.keyPrefix).stats('comeback'));
      expect(s['default|triggered']).toBe('2');
      expect(Object.keys(s).filter((k) => k.includes('exposed') || k.includes('spend'))).toEqual([]);
    } finally {
      await d.close();
      await cleanupRedisPrefix(redis, cfg.keyPrefix);
    }
  });
});
