import { describe, expect, it } from 'vitest';
import type { ConditionInput } from '../../designer/types.ts';
import { considerRules, limitVerdicts, liveCandidates, pinArms } from './evaluate.ts';
import { jsCondition, makeRule, OPEN_POLICY } from '../../test/fixtures/offers-engine.ts';
import { assignVariant, inHoldout } from './hashing.ts';
import { dayIndex, type PlayerCounters } from './limits.ts';
import { shapeDecision } from './shape.ts';
import { conditionInput, playerView } from './input.ts';
import { Schedule } from '../../designer/schedule.ts';
import { decodeDecision, encodeDecision } from './explain-codec.ts';

const T = Date.UTC(2026, 10, 25, 12);
const lossStreak = jsCondition('event.data.result == "loss" && player.loss_streak >= 3', ['event.data.result', 'player.loss_streak'], (i) => i.event.data.result === 'loss' && Number(i.player.loss_streak) >= 3);

const input = (streak: number): ConditionInput => ({
  event: { type: 'match.end', id: 'ev-1', ts: T, data: { result: 'loss' } },
  player: { id: 'p1', loss_streak: streak },
});

const noCounters: PlayerCounters = { rules: new Map(), offersToday: 0, offersDay: null, lastPurchaseAt: null, lastDeclineAt: null };

/** A player id outside (or inside) the 5 % holdout, found deterministically. */
function playerWith(holdout: boolean): string {
  for (let i = 0; ; i += 1) if (inHoldout(`p${i}`, 5) === holdout) return `p${i}`;
}

describe('considerRules', () => {
  it('marks a false condition and records the values it read', () => {
    const [c] = considerRules([makeRule({ id: 'r', when: lossStreak })], input(2), 'p1', OPEN_POLICY, T);
    expect(c?.pre).toBe('condition_false');
    expect(c?.matched).toBe(false);
    expect(c?.values).toEqual({ 'event.data.result': 'loss', 'player.loss_streak': 2 });
  });

  it('lets a true condition through to the limit checks', () => {
    const [c] = considerRules([makeRule({ id: 'r', when: lossStreak })], input(3), 'p1', OPEN_POLICY, T);
    expect(c?.pre).toBeNull();
    expect(c?.matched).toBe(true);
  });

  it('treats a condition error as false and keeps the error', () => {
    const broken = jsCondition('boom', [], () => {
      throw new Error('no such key: level');
    });
    const [c] = considerRules([makeRule({ id: 'r', when: broken })], input(3), 'p1', OPEN_POLICY, T);
    expect(c?.pre).toBe('condition_false');
    expect(c?.error).toBe('no such key: level');
  });

  it('stops the control arm before the holdout, and the holdout before limits', () => {
    const control = makeRule({ id: 'exp', variants: [{ name: 'control', weight: 1, holdout: true, offer: {} }] });
    const plain = makeRule({ id: 'plain' });
    const held = playerWith(true);
    const policy = { ...OPEN_POLICY, holdoutPercent: 5 };
    const [a, b] = considerRules([control, plain], input(3), held, policy, T);
    expect(a?.pre).toBe('control_arm');
    expect(a?.variant?.name).toBe('control');
    expect(b?.pre).toBe('holdout');
    const [c] = considerRules([plain], input(3), playerWith(false), policy, T);
    expect(c?.pre).toBeNull();
  });

  it('assigns the arms of a bandit rule by its current shares, and of any other experiment by weight', () => {
    const variants = [
      { name: 'control', weight: 10, holdout: true, offer: {} },
      { name: 'a', weight: 45, holdout: false, offer: {} },
      { name: 'b', weight: 45, holdout: false, offer: {} },
    ];
    const fixed = makeRule({ id: 'fixed', variants });
    const bandit = { ...makeRule({ id: 'bandit', variants }), experiment: { variants, bandit: { objective: 'purchase_rate' as const, minShare: 0, warmup: 0 } } };
    const sharesOf = (r: { id: string }) => (r.id === 'bandit' || r.id === 'fixed' ? [0, 0, 1] : undefined);
    const players = Array.from({ length: 200 }, (_, i) => `p${i}`);
    const arms = (rule: typeof fixed) => players.map((p) => considerRules([rule], input(3), p, OPEN_POLICY, T, sharesOf)[0]?.variant?.name);
    expect(new Set(arms(bandit))).toEqual(new Set(['b']));
    expect(new Set(arms(fixed))).toEqual(new Set(['control', 'a', 'b']));
    // Without shares yet (before the first refresh), a bandit rule goes by its weights.
    const byWeight = players.map((p) => considerRules([bandit], input(3), p, OPEN_POLICY, T)[0]?.variant?.name);
    expect(byWeight).toEqual(players.map((p) => assignVariant(p, bandit)?.name));
    expect(new Set(byWeight)).toEqual(new Set(['control', 'a', 'b']));
  });

  it('pins the arm stored for the player over the shares’, for bandit rules only, and ignores a pinned arm that is gone or a holdout', () => {
    const variants = [
      { name: 'control', weight: 10, holdout: true, offer: {} },
      { name: 'a', weight: 45, holdout: false, offer: {} },
      { name: 'b', weight: 45, holdout: false, offer: { price: { amount: 299, currency: 'USD' } } },
    ];
    const bandit = { ...makeRule({ id: 'bandit', variants }), experiment: { variants, bandit: { objective: 'purchase_rate' as const, minShare: 0, warmup: 0 } } };
    const fixed = makeRule({ id: 'fixed', variants });
    const player = Array.from({ length: 100 }, (_, i) => `p${i}`).find((p) => assignVariant(p, bandit, [0.1, 0.9, 0])?.name === 'a' && assignVariant(p, fixed)?.name === 'a') ?? '';
    expect(player).not.toBe('');
    const considered = considerRules([bandit, fixed], input(3), player, OPEN_POLICY, T, () => [0.1, 0.9, 0]);
    const pinned = (arm: string | null) => ({ ...noCounters, rules: new Map([['bandit', { cooldownUntil: null, lifetime: 1, arm }], ['fixed', { cooldownUntil: null, lifetime: 1, arm: 'b' }]]) });
    expect(pinArms(considered, pinned('b')).map((c) => c.variant?.name)).toEqual(['b', 'a']);
    for (const gone of ['control', 'renamed', null]) expect(pinArms(considered, pinned(gone))).toBe(considered);
    expect(pinArms(considered, pinned('a'))).toBe(considered);
  });
});

describe('limit verdicts and the winner', () => {
  const policy = { ...OPEN_POLICY, maxOffersPerDay: 1 };

  it('takes the highest priority live rule; shadow rules never win', () => {
    const rules = [makeRule({ id: 'shadow', mode: 'shadow', priority: 300 }), makeRule({ id: 'high', priority: 200 }), makeRule({ id: 'low', priority: 100 })];
    const considered = considerRules(rules, input(3), 'p1', OPEN_POLICY, T);
    const verdicts = limitVerdicts(considered, noCounters, new Map(), OPEN_POLICY, T);
    expect(liveCandidates(considered, verdicts).map((c) => c.rule.id)).toEqual(['high', 'low']);
  });

  it('orders the reasons: cooldown, cap, budget, fatigue', () => {
    const rules = [
      makeRule({ id: 'cool', cooldownMs: 1000 }),
      makeRule({ id: 'capped', maxPerPlayer: 1 }),
      makeRule({ id: 'budget', budget: { count: 5, per: 'hour' } }),
      makeRule({ id: 'tired' }),
    ];
    const counters: PlayerCounters = {
      ...noCounters,
      rules: new Map([
        ['cool', { cooldownUntil: T + 10, lifetime: 5 }],
        ['capped', { cooldownUntil: null, lifetime: 1 }],
      ]),
      offersToday: 1,
      offersDay: dayIndex(T),
    };
    const considered = considerRules(rules, input(3), 'p1', policy, T);
    const v = limitVerdicts(considered, counters, new Map([['budget', 5]]), policy, T);
    expect([...v.values()].map((x) => x?.outcome)).toEqual(['cooldown', 'cap_reached', 'budget_exhausted', 'fatigue_daily_cap']);
    expect(liveCandidates(considered, v)).toEqual([]);
  });
});

describe('shapeDecision', () => {
  it('explains every rule considered for the event', () => {
    const rules = [
      makeRule({ id: 'shadow', mode: 'shadow', priority: 300 }),
      makeRule({ id: 'high', priority: 200, cooldownMs: 60_000 }),
      makeRule({ id: 'mid', priority: 150 }),
      makeRule({ id: 'low', priority: 100 }),
      makeRule({ id: 'never', priority: 50, when: lossStreak }),
    ];
    const considered = considerRules(rules, input(1), 'p1', OPEN_POLICY, T);
    const counters = { ...noCounters, rules: new Map([['high', { cooldownUntil: T + 60_000, lifetime: 1 }]]) };
    const verdicts = limitVerdicts(considered, counters, new Map(), OPEN_POLICY, T);
    const record = shapeDecision({
      eventId: 'ev-1',
      eventType: 'match.end',
      at: T,
      bundleVersion: 7,
      considered,
      verdicts,
      winner: 'mid',
      offerIds: new Map([['shadow', 'oshadow'], ['mid', 'omid'], ['low', 'olow'], ['high', 'ohigh']]),
    });
    expect(record.offerId).toBe('omid');
    expect(record.rules.map((r) => [r.ruleId, r.outcome, r.reason])).toEqual([
      ['shadow', 'shadow', 'shadow: would have offered; not delivered, no limits consumed'],
      ['high', 'cooldown', `cooldown until ${new Date(T + 60_000).toISOString()}`],
      ['mid', 'offered', 'offered'],
      ['low', 'lost_to_priority', 'lost to higher priority (mid)'],
      ['never', 'condition_false', 'condition false'],
    ]);
    expect(record.rules[1]?.until).toBe(T + 60_000);
    expect(record.rules[0]?.offerId).toBe('oshadow');
    expect(record.rules[4]?.values).toEqual({ 'event.data.result': 'loss', 'player.loss_streak': 1 });
    expect(JSON.parse(JSON.stringify(record))).toEqual(record);
  });
});

describe('schedules', () => {
  /** A loss-streak rule in its schedule from `from` (inclusive) to `to` (exclusive). */
  const span = (from: number, to: number) => ({ ...makeRule({ id: 'span', when: lossStreak }), schedule: new Schedule({ start: from, end: to, timeZone: 'UTC', weekly: null }) });

  it('a rule outside its schedule is not evaluated, and says when it next applies', () => {
    const rule = span(T + 3_600_000, T + 7_200_000);
    let evaluated = 0;
    const counting = { ...rule, trigger: { ...rule.trigger, when: { ...lossStreak, evaluate: (i: ConditionInput) => ((evaluated += 1), lossStreak.evaluate(i)) } } };
    const considered = considerRules([counting], input(3), 'p1', OPEN_POLICY, T);
    expect(evaluated).toBe(0);
    expect(considered[0]).toMatchObject({ pre: 'outside_schedule', matched: false, nextStart: T + 3_600_000, values: {} });
    const record = shapeDecision({ eventId: 'ev-1', eventType: 'match.end', at: T, bundleVersion: 1, considered, verdicts: new Map(), winner: null, offerIds: new Map() });
    expect(record.rules[0]).toMatchObject({ outcome: 'outside_schedule', until: T + 3_600_000, reason: `outside schedule until ${new Date(T + 3_600_000).toISOString()}` });
    expect(decodeDecision(encodeDecision(record))).toEqual(record);
  });

  it('inside its schedule the rule goes on as usual; after its end it never applies again', () => {
    expect(considerRules([span(T - 1, T + 1)], input(3), 'p1', OPEN_POLICY, T)[0]).toMatchObject({ pre: null, matched: true });
    const considered = considerRules([span(T - 2, T)], input(3), 'p1', OPEN_POLICY, T);
    expect(considered[0]).toMatchObject({ pre: 'outside_schedule', nextStart: null });
    const record = shapeDecision({ eventId: 'ev-1', eventType: 'match.end', at: T, bundleVersion: 1, considered, verdicts: new Map(), winner: null, offerIds: new Map() });
    expect(record.rules[0]).toEqual(expect.objectContaining({ outcome: 'outside_schedule', reason: 'outside schedule; it does not apply again' }));
    expect(record.rules[0]?.until).toBeUndefined();
  });
});

describe('schedules in the player\'s time zone', () => {
  // Saturday 2026-12-05 02:00 UTC is 11:00 in Tokyo: inside sat 10:00–22:00 there, not in UTC.
  const SAT_2_UTC = Date.UTC(2026, 11, 5, 2);
  const local = { ...makeRule({ id: 'local' }), schedule: new Schedule({ start: null, end: null, timeZone: 'UTC', weekly: [{ days: ['sat'], fromMin: 600, toMin: 1320 }], playerTimeZone: 'tz' }) };
  const inZone = (tz: unknown): ConditionInput => ({ event: { type: 'match.end', id: 'ev-1', ts: SAT_2_UTC, data: {} }, player: { id: 'p1', ...(tz === undefined ? {} : { tz }) } });

  it("uses the player's zone, and the rule's zone when the player has none or an unknown one", () => {
    expect(considerRules([local], inZone('Asia/Tokyo'), 'p1', OPEN_POLICY, SAT_2_UTC)[0]).toMatchObject({ pre: null, matched: true });
    for (const tz of [undefined, 'Mars/Olympus', 42]) {
      expect(considerRules([local], inZone(tz), 'p1', OPEN_POLICY, SAT_2_UTC)[0], String(tz)).toMatchObject({ pre: 'outside_schedule', nextStart: Date.UTC(2026, 11, 5, 10), values: { 'player.tz': tz ?? null } });
    }
    // New York (UTC-5): Saturday 10:00 there is 15:00 UTC.
    expect(considerRules([local], inZone('America/New_York'), 'p1', OPEN_POLICY, SAT_2_UTC)[0]).toMatchObject({ pre: 'outside_schedule', nextStart: Date.UTC(2026, 11, 5, 15) });
    expect(local.schedule.forZone('Asia/Tokyo')).toBe(local.schedule.forZone('Asia/Tokyo'));
  });
});

describe('condition input', () => {
  it('flattens built-ins and properties into `player`, built-ins winning a name clash', () => {
    const state = { id: 'p1', first_seen: 1, last_seen: 2, events_total: 3, offers_today: 0, last_purchase_at: null, props: { loss_streak: 4, id: 'spoofed' } };
    expect(playerView(state)).toEqual({ loss_streak: 4, id: 'p1', first_seen: 1, last_seen: 2, events_total: 3, offers_today: 0, last_purchase_at: null });
    const ci = conditionInput({ v: 1, player: 'p1', id: 'e', type: 'match.end', recvAt: 99, edge: 'x', session: 's' }, state);
    expect(ci.event).toEqual({ type: 'match.end', id: 'e', ts: 99, data: {} });
  });
});
