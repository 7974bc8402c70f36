/**
 * Segments end to end on real Redis: a rule condition reading `segment.<name>`, the daily
 * cap of a segment (policy.yaml `segments:`) applied by the batch path and re-checked by
 * decidePlayers-n.lua, and the daily HyperLogLog of each active segment with its admin view.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { offerKeys, playerKeys } from '../../lib/keys.ts';
import { registry } from '../../lib/metrics.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import type { Config } from '../../lib/config.ts';
import { staticBundleSource } from '../../designer/store.ts';
import type { Bundle } from '../../designer/types.ts';
import { exposeSegmentSizes, segmentsView } from '../../offers/admin/segments.ts';
import { createDecider, type ClosableDecider } from '../../offers/engine/decider.ts';
import { decodeDecisionList } from '../../offers/engine/explain-codec.ts';
import type { DecisionRecord } from '../../offers/engine/explain.ts';
import { dayIndex, DAY_MS } from '../../offers/engine/limits.ts';
import { offerMetrics } from '../../offers/engine/metrics.ts';
import { SEGMENT_SIZE_TTL_MS } from '../../offers/engine/redis-ops.ts';
import { cleanupRedisPrefix, testConfig } from '../helpers/stack.ts';
import { noonDaysAgo } from '../helpers/time.ts';
import { applied, bundleOf, comebackYaml, EVENTS_YAML, PROPERTIES_YAML } from './offers-fixtures.ts';

const MIN = 60_000;

const SEGMENTS_YAML = `segments:
  whales: { description: big spenders, when: 'player.spent >= 5000' }
  losing: 'player.loss_streak >= 3'
  streaky_whales: 'segment.whales && player.loss_streak >= 5'
  casual: 'player.spent < 100'
`;

/** Global cap 1; whales 3; whales on a long losing streak 2 (the tightest applies). `casual` is named nowhere: never evaluated. */
const POLICY_YAML = `fatigue:
  maxOffersPerDay: 1
holdout: { percent: 0 }
segments:
  whales: { maxOffersPerDay: 3 }
  streaky_whales: { maxOffersPerDay: 2 }
`;

const bundle: Bundle = bundleOf({
  'events.yaml': EVENTS_YAML,
  'properties.yaml': `${PROPERTIES_YAML}  spent: { sum: { event: shop.purchase, field: data.amount } }\n`,
  'segments.yaml': SEGMENTS_YAML,
  'policy.yaml': POLICY_YAML,
  'comeback.yaml': comebackYaml({ when: 'event.data.result == "loss" && segment.losing' }),
});

interface Rig {
  config: Config;
  redis: RedisClient;
  decider: ClosableDecider;
}

const rigs: Rig[] = [];

function rig(): Rig {
  const config = testConfig();
  const redis = createRedis(config.redisUrl ?? '', 'test-segments');
  const r = { config, redis, decider: createDecider({ config, redis, bundles: staticBundleSource(bundle), queues: null }) };
  rigs.push(r);
  return r;
}

afterAll(async () => {
  for (const r of rigs) {
    await r.decider.close();
    await cleanupRedisPrefix(r.redis, r.config.keyPrefix);
    r.redis.disconnect();
  }
});

/** Players whose batched write decidePlayers-n.lua refused (then decided again on the slow path). */
const refusedWrites = async (): Promise<number> => (await offerMetrics.fallbacks.get()).values.find((v) => v.labels.reason === 'refused')?.value ?? 0;

const decisions = async (r: Rig, player: string): Promise<DecisionRecord[]> => decodeDecisionList(await r.redis.getBuffer(playerKeys(r.config.keyPrefix, player).decisions));
const inbox = (r: Rig, player: string) => r.redis.zrange(playerKeys(r.config.keyPrefix, player).inbox, 0, -1);
const lossOf = (player: string, at: number, streak: number, spent: number) => applied(player, 'match.end', { result: 'loss' }, at, { loss_streak: streak, purchases: 0, spent });

describe('segments (real Redis)', () => {
  const T0 = noonDaysAgo(1);

  it('evaluates only the segments rules and policy name, dependencies first', () => {
    expect(bundle.segments.all.map((s) => s.name)).toEqual(['whales', 'losing', 'streaky_whales', 'casual']);
    expect(bundle.segments.active).toEqual(['whales', 'losing', 'streaky_whales']);
  });

  it('gates a rule on segment.<name> and explains the segment value it read', async () => {
    const r = rig();
    await r.decider.decideBatch([lossOf('sam', T0, 2, 0)]);
    expect(await inbox(r, 'sam')).toEqual([]);
    await r.decider.decideBatch([lossOf('sam', T0 + MIN, 3, 0)]);
    expect(await inbox(r, 'sam')).toHaveLength(1);
    const [offered, refused] = await decisions(r, 'sam');
    expect(refused?.rules[0]).toMatchObject({ outcome: 'condition_false', values: { 'event.data.result': 'loss', 'segment.losing': false } });
    expect(offered?.rules[0]).toMatchObject({ outcome: 'offered', values: { 'event.data.result': 'loss', 'segment.losing': true } });
  });

  it.each([
    ['one batch', true],
    ['one call per event (each offer re-checked by the player script against a fresh read)', false],
  ])('caps a player by the tightest cap of their segments, else the global one: %s', async (_name, batched) => {
    const r = rig();
    const tag = batched ? 'b' : 's';
    const players = { whale: `whale-${tag}`, streaky: `streaky-${tag}`, minnow: `minnow-${tag}` };
    const events = Object.entries(players).flatMap(([kind, p]) =>
      Array.from({ length: 5 }, (_, i) => lossOf(p, T0 + i * MIN, kind === 'streaky' ? 5 + i : 3, kind === 'minnow' ? 10 : 9000)),
    );
    const refusedBefore = await refusedWrites();
    if (batched) await r.decider.decideBatch(events);
    else for (const e of events) await r.decider.decideBatch([e]);
    // The player script got each player's own cap: it refused none of the batch's writes.
    expect(await refusedWrites()).toBe(refusedBefore);

    expect(await inbox(r, players.whale)).toHaveLength(3);
    expect(await inbox(r, players.streaky)).toHaveLength(2);
    expect(await inbox(r, players.minnow)).toHaveLength(1);
    const latest = async (p: string) => (await decisions(r, p))[0]?.rules[0];
    expect(await latest(players.whale)).toMatchObject({ outcome: 'fatigue_daily_cap', reason: 'fatigue: daily cap of segment whales, 3 of 3 offers today' });
    expect(await latest(players.streaky)).toMatchObject({ outcome: 'fatigue_daily_cap', reason: 'fatigue: daily cap of segment streaky_whales, 2 of 2 offers today' });
    expect(await latest(players.minnow)).toMatchObject({ outcome: 'fatigue_daily_cap', reason: 'fatigue: daily cap, 1 of 1 offers today' });
  });

  it('counts each active segment per UTC day in a HyperLogLog that expires ahead of the server clock', async () => {
    const r = rig();
    const losers = Array.from({ length: 40 }, (_, i) => `loser-${i}`);
    const others = Array.from({ length: 25 }, (_, i) => `winner-${i}`);
    // Every loser decided twice (counted once); a quarter of them are whales.
    const events = [...losers, ...losers].map((p, i) => lossOf(p, T0 + i, 3, Number(p.split('-')[1]) % 4 === 0 ? 6000 : 0));
    await r.decider.decideBatch([...events, ...others.map((p) => lossOf(p, T0, 1, 0))]);

    const view = await segmentsView(r.redis, r.config.keyPrefix, bundle, T0);
    expect(view.day).toBe(new Date(dayIndex(T0) * DAY_MS).toISOString().slice(0, 10));
    const row = (name: string) => view.segments.find((s) => s.name === name);
    // HyperLogLog counts are approximate; at these sizes Redis is within one.
    expect(Math.abs((row('losing')?.today ?? 0) - losers.length)).toBeLessThanOrEqual(1);
    expect(Math.abs((row('whales')?.today ?? 0) - losers.length / 4)).toBeLessThanOrEqual(1);
    expect(row('whales')).toMatchObject({ condition: 'player.spent >= 5000', description: 'big spenders', active: true, maxOffersPerDay: 3 });
    expect(row('casual')).toMatchObject({ active: false, today: 0, maxOffersPerDay: null });
    const next = await segmentsView(r.redis, r.config.keyPrefix, bundle, T0 + DAY_MS);
    expect(next.segments.every((s) => s.today === 0)).toBe(true);

    const key = offerKeys(r.config.keyPrefix).segmentDay('losing', dayIndex(T0));
    const ttl = await r.redis.pttl(key);
    expect(ttl).toBeGreaterThan(SEGMENT_SIZE_TTL_MS - 10 * MIN);
    expect(ttl).toBeLessThanOrEqual(SEGMENT_SIZE_TTL_MS);
  });

  it('serves today\'s segment sizes on /metrics, read from Redis when scraped', async () => {
    const r = rig();
    const scraped = async (): Promise<Map<string, number>> => {
      const text = await registry.metrics();
      return new Map([...text.matchAll(/^playpulse_offers_segment_players_today\{segment="([a-z_]+)"\} (\d+)$/gm)].map((m) => [m[1] ?? '', Number(m[2])]));
    };
    const hide = exposeSegmentSizes(r.redis, r.config.keyPrefix, staticBundleSource(bundle));
    try {
      expect(await scraped()).toEqual(new Map([['whales', 0], ['losing', 0], ['streaky_whales', 0], ['casual', 0]]));
      const now = Date.now();
      const losers = Array.from({ length: 12 }, (_, i) => `today-${i}`);
      await r.decider.decideBatch(losers.map((p, i) => lossOf(p, now + i, 3, i < 3 ? 6000 : 0)));
      const sizes = await scraped();
      // HyperLogLog counts are approximate; at these sizes Redis is within one.
      expect(Math.abs((sizes.get('losing') ?? -9) - losers.length)).toBeLessThanOrEqual(1);
      expect(Math.abs((sizes.get('whales') ?? -9) - 3)).toBeLessThanOrEqual(1);
      expect(sizes.get('casual')).toBe(0);
    } finally {
      hide();
    }
    expect(await scraped()).toEqual(new Map());
  });
});
