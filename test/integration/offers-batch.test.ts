/**
 * The batched decision path (offers/engine/decide-batch.ts) against real Redis: many events
 * of one player in one chunk, a budget running out inside a chunk, and two processors
 * deciding the same player at once (a rebalance), where the batched write is turned down
 * and the player is decided again on the per-event slow path; a slice of more players than
 * one script call takes, where a refusal stops only its own player.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.ts';
import { offerKeys, playerKeys } from '../../lib/keys.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { staticBundleSource } from '../../designer/store.ts';
import type { Bundle, Rule } from '../../designer/types.ts';
import { createDecider, type ClosableDecider } from '../../offers/engine/decider.ts';
import type { DecisionRecord } from '../../offers/engine/explain.ts';
import type { PublishOffer } from '../../offers/engine/context.ts';
import { budgetWindowStart } from '../../offers/engine/limits.ts';
import { offerMetrics } from '../../offers/engine/metrics.ts';
import { budgetUsed, PLAYERS_PER_CALL } from '../../offers/engine/redis-ops.ts';
import { decideEvent } from '../../offers/engine/decide.ts';
import { conditionInput } from '../../offers/engine/input.ts';
import { offerIdFor } from '../../offers/engine/hashing.ts';
import type { AppliedEvent } from '../../processors/decider-seam.ts';
import { cleanupRedisPrefix, testConfig } from '../helpers/stack.ts';
import { applied, baseFiles, bundleOf, comebackYaml, loss } from './offers-fixtures.ts';

interface Rig {
  config: Config;
  redis: RedisClient;
  decided: { player: string; record: DecisionRecord }[];
  decider: ClosableDecider;
}

const clients: RedisClient[] = [];
const prefixes: { redis: RedisClient; prefix: string }[] = [];

afterAll(async () => {
  for (const { redis, prefix } of prefixes) await cleanupRedisPrefix(redis, prefix);
  for (const c of clients) c.disconnect();
});

/**
 * A decider on `config`'s prefix (a fresh one by default) with its own auto-pipelined
 * client, as processors run it. `gate`: the batched player script waits for it (a real
 * client; only the moment of the write is held back, to stage a race).
 */
interface Gate {
  readonly wait: Promise<void>;
  /** Called when the batched write reaches the gate. */
  readonly reached: () => void;
}

function rig(bundle: Bundle, opts: { config?: Config; gate?: Gate; publish?: PublishOffer } = {}): Rig {
  const config = opts.config ?? testConfig();
  const real = createRedis(config.redisUrl ?? '', 'test-offers-batch', { enableAutoPipelining: true });
  clients.push(real);
  if (!opts.config) prefixes.push({ redis: real, prefix: config.keyPrefix });
  let held = opts.gate ?? null;
  const redis = held
    ? (new Proxy(real, {
        get(target, key) {
          if (key === 'decidePlayers' && held) {
            const gate = held;
            held = null;
            const call = Reflect.get(target, key) as (...a: unknown[]) => Promise<unknown>;
            return async (...a: unknown[]) => {
              gate.reached();
              await gate.wait;
              return call.apply(target, a);
            };
          }
          const v = Reflect.get(target, key) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }) as RedisClient)
    : real;
  const decided: Rig['decided'] = [];
  const decider = createDecider({
    config,
    redis,
    bundles: staticBundleSource(bundle),
    queues: null,
    publish: opts.publish ?? (async () => 0),
    onDecision: (player, record) => decided.push({ player, record }),
  });
  return { config, redis: real, decided, decider };
}

/** A gate for a batched write, a promise of the write reaching it, and the key to open it. */
function staged(): { gate: Gate; open: () => void; reached: Promise<void> } {
  let open!: () => void;
  let arrive!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  return { gate: { wait, reached: arrive }, open, reached };
}

/**
 * Two processors on one key prefix, as during a rebalance: `late`'s batched write waits at a
 * gate (`reached` once it gets there, `open` lets it go), `early` runs freely.
 */
function racing(bundle: Bundle): { config: Config; late: Rig; early: Rig; open: () => void; reached: Promise<void> } {
  const config = testConfig();
  const { gate, open, reached } = staged();
  const late = rig(bundle, { config, gate });
  prefixes.push({ redis: late.redis, prefix: config.keyPrefix });
  return { config, late, early: rig(bundle, { config }), open, reached };
}

const inbox = (r: Rig, player: string) => r.redis.zrange(playerKeys(r.config.keyPrefix, player).inbox, 0, -1);
const outcomeOf = (record: DecisionRecord, ruleId: string) => record.rules.find((x) => x.ruleId === ruleId)?.outcome;
const fallbacks = async (reason: string) => (await offerMetrics.fallbacks.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

describe('batched decisions', () => {
  it('decides many events of one player in one chunk exactly as one event at a time', async () => {
    const bundle = bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ when: 'event.data.result == "loss"' }) }, { maxOffersPerDay: 5 }));
    const at = Date.now();
    const events = Array.from({ length: 20 }, (_, i) => loss('p-many', at + i * 1_000, 3, `many-${i}`));

    const batched = rig(bundle);
    const refusedBefore = await fallbacks('refused');
    await batched.decider.decideBatch(events);
    // Decided in process with the counters carried forward: the player script agreed with every verdict.
    expect(await fallbacks('refused')).toBe(refusedBefore);
    const single = rig(bundle);
    for (const e of events) await single.decider.decideBatch([e]);

    const outcomes = (r: Rig) => r.decided.map((d) => `${d.record.eventId}:${outcomeOf(d.record, 'comeback')}:${d.record.offerId ?? '-'}`);
    expect(batched.decided).toHaveLength(20);
    expect(outcomes(batched)).toEqual(outcomes(single));
    expect(batched.decided.slice(0, 5).every((d) => outcomeOf(d.record, 'comeback') === 'offered')).toBe(true);
    expect(batched.decided.slice(5).every((d) => outcomeOf(d.record, 'comeback') === 'fatigue_daily_cap')).toBe(true);
    expect((await inbox(batched, 'p-many')).sort()).toEqual((await inbox(single, 'p-many')).sort());
    expect(await inbox(batched, 'p-many')).toHaveLength(5);
    const stats = await batched.redis.hgetall(offerKeys(batched.config.keyPrefix).stats('comeback'));
    expect(stats).toMatchObject({ 'default|triggered': '20', 'default|offered': '5' });

    // The same chunk again (a redelivery): every event is found decided, nothing changes.
    await batched.decider.decideBatch(events);
    expect(batched.decided).toHaveLength(20);
    expect(await inbox(batched, 'p-many')).toHaveLength(5);
  });

  it('routes again the offers of a redelivered chunk still pending in the inbox, decides nothing again', async () => {
    const bundle = bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ when: 'event.data.result == "loss"' }) }, { maxOffersPerDay: 5 }));
    const at = Date.now();
    const events = Array.from({ length: 3 }, (_, i) => loss('p-reroute', at + i * 1_000, 3, `reroute-${i}`));
    const routed: string[] = [];
    const r = rig(bundle, { publish: async (_player, offer) => (routed.push(offer.id), 1) });
    await r.decider.decideBatch(events);
    const made = (await inbox(r, 'p-reroute')).sort();
    expect(made).toHaveLength(3);
    expect([...routed].sort()).toEqual(made);

    // One offer answered (out of the inbox); the process died before committing: the chunk comes again.
    const answered = made[0] as string;
    await r.redis.zrem(playerKeys(r.config.keyPrefix, 'p-reroute').inbox, answered);
    routed.length = 0;
    const reroutedBefore = (await offerMetrics.rerouted.get()).values[0]?.value ?? 0;
    await r.decider.decideBatch(events);
    expect(r.decided).toHaveLength(3);
    expect([...routed].sort()).toEqual(made.filter((id) => id !== answered));
    expect(((await offerMetrics.rerouted.get()).values[0]?.value ?? 0) - reroutedBefore).toBe(2);
  });

  it('routes with the presence the write read after the inbox, on both paths; an offline player is not looked up again', async () => {
    const bundle = bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ when: 'event.data.result == "loss"' }) }, { maxOffersPerDay: 5 }));
    const at = Date.now();
    const calls: { player: string; offer: string; presence: readonly string[] | undefined }[] = [];
    const r = rig(bundle, { publish: async (player, offer, _traceparent, presence) => (calls.push({ player, offer: offer.id, presence }), 1) });
    const live = String(at + 600_000);
    const gone = String(at - 1_000);
    await r.redis.hset(playerKeys(r.config.keyPrefix, 'p-online').presence, 'edge-a', live, 'edge-gone', gone);

    // Batched: one offer each; the decision path makes no presence read of its own.
    await r.decider.decideBatch([loss('p-online', at, 3, 'presence-1'), loss('p-offline', at, 3, 'presence-2'), { ...applied('p-none', 'match.end', { result: 'win' }, at, { loss_streak: 0, purchases: 0 }, 'presence-3') }]);
    const byPlayer = new Map(calls.map((c) => [c.player, c]));
    expect([...byPlayer.keys()].sort()).toEqual(['p-offline', 'p-online']);
    expect(byPlayer.get('p-online')?.offer).toBe((await inbox(r, 'p-online'))[0]);
    expect(byPlayer.get('p-online')?.presence).toEqual(['edge-a', live, 'edge-gone', gone]);
    // Read and found empty: routing knows the player is offline without asking again.
    expect(byPlayer.get('p-offline')?.presence).toEqual([]);

    // The per-event path (follow-ups, refused batched writes) hands the same on.
    calls.length = 0;
    const e = loss('p-online', at + 1_000, 3, 'presence-4');
    const outcome = await decideEvent(r.decider.context, {
      playerId: 'p-online',
      eventId: 'presence-4',
      eventType: 'match.end',
      at: at + 1_000,
      input: conditionInput(e.record, e.state, bundle),
      rules: bundle.rulesByEvent.get('match.end') ?? [],
      bundle,
      position: { partition: 0, offset: e.offset },
    });
    expect(outcome.status).toBe('decided');
    expect(calls).toEqual([{ player: 'p-online', offer: (outcome as { offer: { id: string } }).offer.id, presence: ['edge-a', live, 'edge-gone', gone] }]);
  });

  it('hands out the last units of a budget inside one chunk in chunk order, then the next rule', async () => {
    const bundle = bundleOf(
      baseFiles({
        'comeback.yaml': comebackYaml({ when: 'event.data.result == "loss"', budget: 7 }),
        'spare.yaml': comebackYaml({ id: 'spare', priority: 50, when: 'event.data.result == "loss"' }),
      }),
    );
    const at = Date.now();
    const players = Array.from({ length: 30 }, (_, i) => `p-budget-${i}`);
    const r = rig(bundle);
    await r.decider.decideBatch(players.map((p, i) => loss(p, at + i, 3, `budget-${i}`)));

    expect(r.decided).toHaveLength(30);
    const byPlayer = new Map(r.decided.map((d) => [d.player, d.record]));
    players.forEach((p, i) => {
      const rec = byPlayer.get(p) as DecisionRecord;
      expect(outcomeOf(rec, 'comeback')).toBe(i < 7 ? 'offered' : 'budget_exhausted');
      expect(outcomeOf(rec, 'spare')).toBe(i < 7 ? 'lost_to_priority' : 'offered');
      expect(rec.offerId).not.toBeNull();
    });
    const claims = await r.redis.scard(offerKeys(r.config.keyPrefix).budget('comeback', budgetWindowStart(at, 'day')));
    expect(claims).toBe(7);
  });

  it('never doubles an offer when two processors decide the same player at once (write found decided)', async () => {
    const bundle = bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ when: 'event.data.result == "loss"', cooldown: '1h' }) }));
    const { config, late, early, open, reached } = racing(bundle);
    const at = Date.now();
    const events: AppliedEvent[] = [loss('p-race', at, 3, 'race-1'), loss('p-race', at + 1, 3, 'race-2')];
    const before = await fallbacks('duplicate');

    // `late` reads and decides in process, then waits at its write; `early` decides meanwhile.
    const slow = late.decider.decideBatch(events);
    await reached;
    await early.decider.decideBatch(events);
    open();
    await slow;

    expect(await fallbacks('duplicate')).toBe(before + 1);
    expect(early.decided).toHaveLength(2);
    expect(late.decided).toHaveLength(0);
    expect(await inbox(early, 'p-race')).toHaveLength(1);
    const limits = await early.redis.hgetall(playerKeys(config.keyPrefix, 'p-race').limits);
    expect(limits['n:comeback']).toBe('1');
  });

  it('re-decides a player event by event when the write is refused, and passes no limit', async () => {
    const bundle = bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ when: 'event.data.result == "loss"' }) }, { maxOffersPerDay: 1 }));
    const { config, late, early, open, reached } = racing(bundle);
    const at = Date.now();
    // Two different events of one player, on two partitions (the player moved during a rebalance).
    const x = loss('p-refused', at, 3, 'refused-x');
    const y = { ...applied('p-refused', 'match.end', { result: 'loss' }, at + 1, { loss_streak: 3, purchases: 0 }, 'refused-y'), partition: 1 };
    const before = await fallbacks('refused');

    const slow = late.decider.decideBatch([x]);
    await reached;
    await early.decider.decideBatch([y]);
    open();
    await slow;

    expect(await fallbacks('refused')).toBe(before + 1);
    expect(outcomeOf(early.decided[0]?.record as DecisionRecord, 'comeback')).toBe('offered');
    // The slow path read again and found the daily cap taken by the other processor's offer.
    expect(late.decided).toHaveLength(1);
    expect(outcomeOf(late.decided[0]?.record as DecisionRecord, 'comeback')).toBe('fatigue_daily_cap');
    expect(late.decided[0]?.record.offerId).toBeNull();
    expect(await inbox(early, 'p-refused')).toHaveLength(1);
    const state = await early.redis.hget(playerKeys(config.keyPrefix, 'p-refused').state, 'offers_today');
    expect(state).toBe('1');
  });

  it('gives back the units it claimed when a player falls back, so the budget is not leaked', async () => {
    const bundle = bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ when: 'event.data.result == "loss"', budget: 10 }) }, { maxOffersPerDay: 1 }));
    const { config, late, early, open, reached } = racing(bundle);
    const at = Date.now();
    const x = loss('p-leak', at, 3, 'leak-x');
    const y = { ...applied('p-leak', 'match.end', { result: 'loss' }, at + 1, { loss_streak: 3, purchases: 0 }, 'leak-y'), partition: 1 };

    const slow = late.decider.decideBatch([x]);
    await reached;
    await early.decider.decideBatch([y]);
    open();
    await slow;

    // x claimed a unit, its write was refused (daily cap), the slow path made no offer: one unit used, by y.
    const claims = await early.redis.smembers(offerKeys(config.keyPrefix).budget('comeback', budgetWindowStart(at, 'day')));
    expect(claims).toEqual([early.decided[0]?.record.offerId]);
  });

  it('does not refuse an offer for a full budget when the unit filling it is held for that very offer', async () => {
    // Two processors deciding the same event (a rebalance): the first claimed the window's last
    // unit for the offer and has not written yet. The second must not read "full" and refuse
    // the offer: the first would then find the event decided and give the unit back, and the
    // unit would be lost to every later player of the window.
    const bundle = bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ when: 'event.data.result == "loss"', budget: 1 }) }, { maxOffersPerDay: 5 }));
    const { config, late: first, early: second, open, reached } = racing(bundle);
    const at = Date.now();
    const e = loss('p-held', at, 3, 'held-e');
    const offerId = offerIdFor('comeback', 'p-held', 'held-e');
    const budgetKey = offerKeys(config.keyPrefix).budget('comeback', budgetWindowStart(at, 'day'));

    const slow = first.decider.decideBatch([e]);
    await reached;
    expect(await first.redis.smembers(budgetKey)).toEqual([offerId]);
    await second.decider.decideBatch([e]);
    open();
    await slow;

    expect(outcomeOf(second.decided[0]?.record as DecisionRecord, 'comeback')).toBe('offered');
    expect(await inbox(second, 'p-held')).toEqual([offerId]);
    expect(await first.redis.smembers(budgetKey)).toEqual([offerId]);
    // The slow path's read counts the same way: the held unit is the offer's own, another offer's is not.
    const rule = bundle.rules.find((r) => r.id === 'comeback') as Rule;
    expect(await budgetUsed(first.redis, config.keyPrefix, rule, at, offerId)).toBe(0);
    expect(await budgetUsed(first.redis, config.keyPrefix, rule, at, offerIdFor('comeback', 'p-held', 'other'))).toBe(1);
  });

  it('records a slice of players over several script calls; a refusal stops only its own player', async () => {
    const bundle = bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ when: 'event.data.result == "loss"' }) }, { maxOffersPerDay: 1 }));
    const config = testConfig();
    const { gate, open, reached } = staged();
    const r = rig(bundle, { config, gate });
    prefixes.push({ redis: r.redis, prefix: config.keyPrefix });
    const at = Date.now();
    // More players than one call takes (PLAYERS_PER_CALL), one loss each: three reads and three
    // writes on a single Redis, one per slot group on a Redis Cluster.
    const players = Array.from({ length: 2 * PLAYERS_PER_CALL + 50 }, (_, i) => `p-slice-${i}`);
    const events = players.map((p, i) => loss(p, at + i, 3, `slice-${i}`));
    const before = await fallbacks('refused');

    const deciding = r.decider.decideBatch(events);
    await reached;
    // While the first call's write is held, another processor gives one of its players (the
    // first player is in the first call, whatever the grouping) today's offer.
    const taken = players[0] as string;
    await r.redis.hset(playerKeys(config.keyPrefix, taken).state, 'offers_today', '1', 'offers_day', String(Math.floor(at / 86_400_000)));
    open();
    await deciding;

    expect(await fallbacks('refused')).toBe(before + 1);
    const outcomes = new Map(r.decided.map((d) => [d.player, outcomeOf(d.record, 'comeback')]));
    expect(r.decided).toHaveLength(players.length);
    expect(outcomes.get(taken)).toBe('fatigue_daily_cap');
    const others = players.filter((p) => p !== taken);
    expect(others.filter((p) => outcomes.get(p) !== 'offered')).toEqual([]);
    const inboxes = await Promise.all(players.map((p) => inbox(r, p)));
    expect(inboxes.map((ids) => ids.length)).toEqual(players.map((p) => (p === taken ? 0 : 1)));

    // The chunk again: every player's events are found decided, in every call; nothing changes.
    await r.decider.decideBatch(events);
    expect(r.decided).toHaveLength(players.length);
    expect((await Promise.all(players.map((p) => inbox(r, p)))).flat()).toHaveLength(players.length - 1);
  });
});
