import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.ts';
import { offerKeys, playerKeys } from '../../lib/keys.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { staticBundleSource } from '../../designer/store.ts';
import type { Bundle } from '../../designer/types.ts';
import { createDecider, type ClosableDecider } from '../../offers/engine/decider.ts';
import { decodeDecisionList } from '../../offers/engine/explain-codec.ts';
import { readPlayerLedger } from '../../offers/engine/redis-ops.ts';
import type { DecisionRecord } from '../../offers/engine/explain.ts';
import { inHoldout, offerIdFor } from '../../offers/engine/hashing.ts';
import type { LedgerRecord } from '../../offers/engine/offer.ts';
import { createOfferQueues, type OfferQueues } from '../../offers/jobs/queues.ts';
import { startOfferWorkers } from '../../offers/jobs/workers.ts';
import { readPlayerState } from '../../processors/state.ts';
import { cleanupRedisPrefix, testConfig } from '../helpers/stack.ts';
import { noonDaysAgo } from '../helpers/time.ts';
import { budgetWindowEnd, budgetWindowStart } from '../../offers/engine/limits.ts';
import { applied, baseFiles, bundleOf, comebackYaml, eventually, listenAsEdge, loss, REMINDER_YAML } from './offers-fixtures.ts';

const HOUR = 3_600_000;

interface Rig {
  config: Config;
  redis: RedisClient;
  queues: OfferQueues;
  decider: ClosableDecider;
  close(): Promise<void>;
}

const rigs: Rig[] = [];

/** A decider on a fresh key prefix with `bundle`, its queues and (optionally) the lifecycle workers. */
async function rig(bundle: Bundle, opts: { workers?: boolean; fulfilmentUrl?: string } = {}): Promise<Rig> {
  const config = testConfig(opts.fulfilmentUrl ? { PLAYPULSE_FULFILMENT_URL: opts.fulfilmentUrl } : {});
  const redis = createRedis(config.redisUrl ?? '', 'test-offers');
  const queues = createOfferQueues(config, { fulfilmentBackoffMs: 100, fulfilmentAttempts: 6 });
  const bundles = staticBundleSource(bundle);
  const decider = createDecider({ config, redis, bundles, queues });
  const workers = opts.workers
    ? startOfferWorkers({
        engine: decider.context,
        queues,
        bundles,
        readState: (id, b, now) => readPlayerState(redis, config.keyPrefix, id, b, now),
        fulfilmentUrl: config.fulfilmentUrl,
        prefix: offerKeys(config.keyPrefix).bullPrefix,
      })
    : null;
  const r: Rig = {
    config,
    redis,
    queues,
    decider,
    async close() {
      await workers?.close();
      await decider.close();
      await queues.close();
      await cleanupRedisPrefix(redis, config.keyPrefix);
      redis.disconnect();
    },
  };
  rigs.push(r);
  return r;
}

afterAll(async () => {
  for (const r of rigs) await r.close();
});

const decisions = async (r: Rig, player: string): Promise<DecisionRecord[]> =>
  decodeDecisionList(await r.redis.getBuffer(playerKeys(r.config.keyPrefix, player).decisions));
const inbox = (r: Rig, player: string) => r.redis.zrange(playerKeys(r.config.keyPrefix, player).inbox, 0, -1);
const ledger = async (r: Rig, player: string, offerId: string): Promise<LedgerRecord | null> => {
  return (await readPlayerLedger(r.redis, r.config.keyPrefix, player)).get(offerId) ?? null;
};
const stats = (r: Rig, ruleId: string) => r.redis.hgetall(offerKeys(r.config.keyPrefix).stats(ruleId));

/** A player id in (or out of) the global holdout at `percent`. */
function playerWithHoldout(prefix: string, percent: number, held: boolean): string {
  for (let i = 0; ; i += 1) if (inHoldout(`${prefix}-${i}`, percent) === held) return `${prefix}-${i}`;
}

describe('offer decisions (real Redis, real BullMQ)', () => {
  const T0 = noonDaysAgo(1);

  it('puts the offer in the inbox, routes it to the edge holding the socket, and explains why', async () => {
    const r = await rig(bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ cooldown: '24h' }) })));
    const edge = await listenAsEdge(r.config.redisUrl ?? '', r.redis, r.config.keyPrefix, ['ann']);
    try {
      const ev = loss('ann', T0);
      await r.decider.decideBatch([ev]);
      const id = offerIdFor('comeback', 'ann', ev.record.id);
      expect(await inbox(r, 'ann')).toEqual([id]);
      const stored = JSON.parse((await r.redis.hget(playerKeys(r.config.keyPrefix, 'ann').offers, id)) ?? '{}');
      expect(stored).toMatchObject({ id, ruleId: 'comeback', sku: 'bundle.comeback', price: { amount: 199, currency: 'USD' }, expiresAt: T0 + 15 * 60_000, createdAt: T0 });
      const delivered = await eventually(async () => (edge.received.length > 0 ? edge.received : undefined), 5_000, 'delivery');
      expect(delivered[0]?.offer.id).toBe(id);
      const [d] = await decisions(r, 'ann');
      expect(d?.offerId).toBe(id);
      expect(d?.rules).toEqual([
        expect.objectContaining({ ruleId: 'comeback', outcome: 'offered', reason: 'offered', offerId: id, values: { 'event.data.result': 'loss', 'player.loss_streak': 3 } }),
      ]);
      expect(await stats(r, 'comeback')).toMatchObject({ 'default|triggered': '1', 'default|offered': '1', 'default|delivered': '1' });
    } finally {
      edge.close();
    }
  });

  it('refuses a second trigger inside the cooldown and says until when', async () => {
    const r = await rig(bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ cooldown: '24h' }) })));
    await r.decider.decideBatch([loss('bo', T0), loss('bo', T0 + HOUR, 4)]);
    expect(await inbox(r, 'bo')).toHaveLength(1);
    const [latest] = await decisions(r, 'bo');
    expect(latest?.offerId).toBeNull();
    expect(latest?.rules[0]).toMatchObject({ outcome: 'cooldown', until: T0 + 24 * HOUR, reason: `cooldown until ${new Date(T0 + 24 * HOUR).toISOString()}` });
    await r.decider.decideBatch([loss('bo', T0 + 24 * HOUR, 5)]);
    expect(await inbox(r, 'bo')).toHaveLength(2);
  });

  it('never makes an offer for a player in the global holdout', async () => {
    const r = await rig(bundleOf(baseFiles({ 'comeback.yaml': comebackYaml() }, { holdoutPercent: 5 })));
    const held = playerWithHoldout('held', 5, true);
    const other = playerWithHoldout('free', 5, false);
    await r.decider.decideBatch([loss(held, T0), loss(held, T0 + 1), loss(held, T0 + 2), loss(other, T0)]);
    expect(await inbox(r, held)).toEqual([]);
    expect((await decisions(r, held)).map((d) => d.rules[0]?.outcome)).toEqual(['holdout', 'holdout', 'holdout']);
    expect(await inbox(r, other)).toHaveLength(1);
  });

  it('decides the same events only once: a redelivered batch makes no second offer', async () => {
    const r = await rig(bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ budget: 100 }) })));
    const batch = [loss('cy', T0, 3, 'e1'), loss('cy', T0 + 1000, 4, 'e2')];
    await r.decider.decideBatch(batch);
    await r.decider.decideBatch(batch);
    await Promise.all([r.decider.decideBatch(batch), r.decider.decideBatch(batch)]);
    expect((await inbox(r, 'cy')).sort()).toEqual([offerIdFor('comeback', 'cy', 'e1'), offerIdFor('comeback', 'cy', 'e2')].sort());
    expect(await decisions(r, 'cy')).toHaveLength(2);
    const budgetKey = offerKeys(r.config.keyPrefix).budget('comeback', budgetWindowStart(T0, 'day'));
    expect(await r.redis.scard(budgetKey)).toBe(2);
    expect(await stats(r, 'comeback')).toMatchObject({ 'default|offered': '2', 'default|triggered': '2' });
  });

  it('never spends over the budget: 50 players at once, 3 deciders, budget 20, replayed', async () => {
    const bundle = bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ budget: 20 }) }));
    const r = await rig(bundle);
    const clients = [1, 2].map(() => createRedis(r.config.redisUrl ?? '', 'test-offers-extra'));
    const all = [r.decider, ...clients.map((redis) => createDecider({ config: r.config, redis, bundles: staticBundleSource(bundle), queues: r.queues }))];
    const players = Array.from({ length: 50 }, (_, i) => `whale-${i}`);
    const events = players.map((p) => loss(p, T0 + 5));
    await Promise.all(events.flatMap((e, i) => [all[i % 3]?.decideBatch([e]), all[(i + 1) % 3]?.decideBatch([e])]));
    for (const c of clients) c.disconnect();
    const offered = (await Promise.all(players.map((p) => inbox(r, p)))).flat();
    expect(offered).toHaveLength(20);
    const budgetKey = offerKeys(r.config.keyPrefix).budget('comeback', budgetWindowStart(T0, 'day'));
    expect(new Set(await r.redis.smembers(budgetKey))).toEqual(new Set(offered));
    const refused = (await Promise.all(players.map((p) => decisions(r, p)))).flat().filter((d) => d.offerId === null);
    expect(refused).toHaveLength(30);
    expect(refused.every((d) => d.rules[0]?.outcome === 'budget_exhausted' && d.rules[0].reason === 'budget exhausted: 20 of 20 per day')).toBe(true);
    await Promise.all(events.map((e) => r.decider.decideBatch([e])));
    expect((await Promise.all(players.map((p) => inbox(r, p)))).flat()).toHaveLength(20);
  });

  it.each([2, 30])('keeps the budget for decisions of events %i days old (a backlog, a replay): the claims expire by the server clock', async (days) => {
    const bundle = bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ budget: 10 }) }));
    const r = await rig(bundle);
    const clients = [1, 2].map(() => createRedis(r.config.redisUrl ?? '', 'test-offers-extra'));
    const all = [r.decider, ...clients.map((redis) => createDecider({ config: r.config, redis, bundles: staticBundleSource(bundle), queues: null }))];
    const at = noonDaysAgo(days);
    const players = Array.from({ length: 40 }, (_, i) => `late${days}-${i}`);
    const events = players.map((p) => loss(p, at));
    await Promise.all(events.map((e, i) => all[i % 3]?.decideBatch([e])));
    for (const c of clients) c.disconnect();
    const offered = (await Promise.all(players.map((p) => inbox(r, p)))).flat();
    expect(offered).toHaveLength(10);
    const budgetKey = offerKeys(r.config.keyPrefix).budget('comeback', budgetWindowStart(at, 'day'));
    expect(new Set(await r.redis.smembers(budgetKey))).toEqual(new Set(offered));
    // The claim set outlives the latest claim by the window's length and a day, by the Redis
    // server clock (or lives to a day past the window's end, when that is later).
    const ttl = await r.redis.pttl(budgetKey);
    const [seconds] = await r.redis.time();
    const keepUntil = budgetWindowEnd(at, 'day') + 24 * HOUR;
    expect(ttl).toBeGreaterThan(24 * HOUR);
    expect(ttl).toBeLessThanOrEqual(Math.max(48 * HOUR, keepUntil - Number(seconds) * 1000) + 1000);
  });

  it('records shadow rules with what they would have done, never delivering or counting them', async () => {
    const r = await rig(bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ cooldown: '1h' }), 'shadow.yaml': comebackYaml({ id: 'shadow-try', mode: 'shadow', priority: 500, cooldown: '1h' }) })));
    await r.decider.decideBatch([loss('dee', T0), loss('dee', T0 + 60_000)]);
    const [second, first] = await decisions(r, 'dee');
    expect(first?.rules.map((x) => [x.ruleId, x.outcome])).toEqual([['shadow-try', 'shadow'], ['comeback', 'offered']]);
    expect(second?.rules.map((x) => [x.ruleId, x.outcome])).toEqual([['shadow-try', 'shadow'], ['comeback', 'cooldown']]);
    expect(await inbox(r, 'dee')).toEqual([first?.offerId]);
    expect(await stats(r, 'shadow-try')).toMatchObject({ 'default|shadow_offered': '2', 'default|triggered': '2' });
    expect((await stats(r, 'shadow-try'))['default|offered']).toBeUndefined();
  });

  it('records responses once, takes the offer out of the inbox, and keeps quiet after a purchase', async () => {
    const r = await rig(bundleOf(baseFiles({ 'comeback.yaml': comebackYaml() }, { quietAfterPurchase: '24h' })));
    const ev = loss('eve', T0);
    await r.decider.decideBatch([ev]);
    const id = offerIdFor('comeback', 'eve', ev.record.id);
    const shown = applied('eve', 'offer.shown', { offerId: id }, T0 + 1000);
    const bought = applied('eve', 'offer.purchased', { offerId: id, amount: 250 }, T0 + 2000);
    const forged = applied('eve', 'offer.purchased', { offerId: offerIdFor('comeback', 'someone-else', 'x') }, T0 + 2000);
    const malformed = [applied('eve', 'offer.shown', { offerId: 42 }, T0 + 1500), applied('eve', 'offer.declined', {}, T0 + 1500)];
    await r.decider.decideBatch([shown, shown, ...malformed, bought, forged]);
    await r.decider.decideBatch([bought]);
    expect(await inbox(r, 'eve')).toEqual([]);
    expect(await r.redis.hexists(playerKeys(r.config.keyPrefix, 'eve').offers, id)).toBe(0);
    expect((await ledger(r, 'eve', id))?.responses).toMatchObject({ shown: T0 + 1000, purchased: T0 + 2000 });
    expect(await stats(r, 'comeback')).toMatchObject({ 'default|shown': '1', 'default|purchased': '1', 'default|revenue|USD': '250' });
    expect(await r.redis.hget(playerKeys(r.config.keyPrefix, 'eve').state, 'last_purchase_at')).toBe(String(T0 + 2000));
    await r.decider.decideBatch([loss('eve', T0 + HOUR)]);
    const [latest] = await decisions(r, 'eve');
    expect(latest?.rules[0]).toMatchObject({ outcome: 'fatigue_after_purchase', until: T0 + 2000 + 24 * HOUR });
  });
});

describe('bad input', () => {
  it('records a condition that fails at run time as false, with the error, and goes on', async () => {
    const r = await rig(bundleOf(baseFiles({ 'comeback.yaml': comebackYaml() })));
    const odd = applied('zed', 'match.end', {}, noonDaysAgo(1), { loss_streak: 5 });
    await r.decider.decideBatch([odd, loss('zed', noonDaysAgo(1) + HOUR)]);
    const [second, first] = await decisions(r, 'zed');
    expect(first?.rules[0]).toMatchObject({ outcome: 'condition_false', error: expect.any(String) });
    expect(second?.rules[0]?.outcome).toBe('offered');
  });
});

describe('offer lifecycle jobs (real BullMQ workers)', () => {
  it('expires an offer with ttl 2s: out of the inbox, recorded as expired, never pending after', async () => {
    const r = await rig(bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ ttl: '2s' }) })), { workers: true });
    const now = Date.now();
    const ev = loss('fay', now);
    await r.decider.decideBatch([ev]);
    const id = offerIdFor('comeback', 'fay', ev.record.id);
    expect(await inbox(r, 'fay')).toEqual([id]);
    const rec = await eventually(async () => {
      const l = await ledger(r, 'fay', id);
      return l?.responses.expired !== undefined ? l : undefined;
    }, 15_000, 'expiry');
    expect(rec.responses.expired).toBeGreaterThanOrEqual(now + 2000);
    expect(await inbox(r, 'fay')).toEqual([]);
    expect(await r.redis.hexists(playerKeys(r.config.keyPrefix, 'fay').offers, id)).toBe(0);
    expect(await stats(r, 'comeback')).toMatchObject({ 'default|expired': '1' });
    await r.decider.decideBatch([ev]);
    expect(await inbox(r, 'fay')).toEqual([]);
  });

  it('calls the fulfilment webhook until it succeeds (fails twice), and grants once', async () => {
    const calls: { key: string | undefined; body: Record<string, unknown> }[] = [];
    const server: Server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        calls.push({ key: req.headers['idempotency-key'] as string | undefined, body: JSON.parse(text) as Record<string, unknown> });
        res.writeHead(calls.length <= 2 ? 503 : 200).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/grant`;
      const r = await rig(bundleOf(baseFiles({ 'comeback.yaml': comebackYaml() })), { workers: true, fulfilmentUrl: url });
      const t = Date.now();
      const ev = loss('gus', t);
      await r.decider.decideBatch([ev]);
      const id = offerIdFor('comeback', 'gus', ev.record.id);
      const bought = applied('gus', 'offer.purchased', { offerId: id }, t + 10);
      await r.decider.decideBatch([bought]);
      await r.decider.decideBatch([bought]);
      const rec = await eventually(async () => {
        const l = await ledger(r, 'gus', id);
        return l?.responses.granted !== undefined ? l : undefined;
      }, 20_000, 'grant');
      expect(rec.responses.granted).toBeGreaterThan(0);
      expect(calls).toHaveLength(3);
      expect(calls.every((c) => c.key === id)).toBe(true);
      expect(calls[2]?.body).toMatchObject({ offerId: id, playerId: 'gus', ruleId: 'comeback', sku: 'bundle.comeback', amount: 199, currency: 'USD', purchasedAt: t + 10 });
      await r.decider.decideBatch([bought]);
      expect(await stats(r, 'comeback')).toMatchObject({ 'default|granted': '1', 'default|purchased': '1' });
      const job = await r.queues.fulfilment.getJob(`ful-${id}`);
      expect(job?.attemptsMade).toBe(3);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('runs a follow-up rule when the first offer was not bought, and not when it was', async () => {
    const files = baseFiles({ 'comeback.yaml': comebackYaml({ followUp: '1s' }), 'reminder.yaml': REMINDER_YAML });
    const r = await rig(bundleOf(files), { workers: true });
    const t = Date.now();
    const a = loss('hal', t);
    const b = loss('ivy', t);
    await r.decider.decideBatch([a, b]);
    const ivyOffer = offerIdFor('comeback', 'ivy', b.record.id);
    await r.decider.decideBatch([applied('ivy', 'offer.purchased', { offerId: ivyOffer }, t + 100)]);
    const halOffer = offerIdFor('comeback', 'hal', a.record.id);
    const fu = offerIdFor('comeback-reminder', 'hal', `followup.${halOffer}`);
    await eventually(async () => ((await inbox(r, 'hal')).includes(fu) ? true : undefined), 15_000, 'follow-up offer');
    const [d] = await decisions(r, 'hal');
    expect(d).toMatchObject({ eventId: `followup.${halOffer}`, followUpOf: halOffer, at: t + 1000, offerId: fu });
    const ivyJob = await r.queues.followUp.getJob(`fu-${ivyOffer}`);
    await eventually(async () => ((await ivyJob?.isCompleted()) ? true : undefined), 15_000, 'cancelled follow-up');
    expect(ivyJob?.returnvalue ?? (await r.queues.followUp.getJob(`fu-${ivyOffer}`))?.returnvalue).toBe('cancelled');
    expect(await inbox(r, 'ivy')).toEqual([]);
  });
});
