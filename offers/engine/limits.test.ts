import { describe, expect, it } from 'vitest';
import { budgetVerdict, budgetWindowEnd, budgetWindowStart, cooldownAfter, dayIndex, DAY_MS, fatigueVerdict, HOUR_MS, offersOnDay, ruleLimitVerdict, type PlayerCounters } from './limits.ts';
import { makeRule, OPEN_POLICY } from '../../test/fixtures/offers-engine.ts';

const T = Date.UTC(2026, 10, 25, 17, 30);

const counters = (over: Partial<PlayerCounters> = {}): PlayerCounters => ({
  rules: new Map(),
  offersToday: 0,
  offersDay: null,
  lastPurchaseAt: null,
  lastDeclineAt: null,
  ...over,
});

describe('windows', () => {
  it('aligns budget windows to UTC hours and days', () => {
    expect(budgetWindowStart(T, 'day')).toBe(Date.UTC(2026, 10, 25));
    expect(budgetWindowEnd(T, 'day')).toBe(Date.UTC(2026, 10, 26));
    expect(budgetWindowStart(T, 'hour')).toBe(Date.UTC(2026, 10, 25, 17));
    expect(budgetWindowEnd(T, 'hour') - budgetWindowStart(T, 'hour')).toBe(HOUR_MS);
    expect(dayIndex(Date.UTC(2026, 10, 25, 23, 59, 59, 999)) + 1).toBe(dayIndex(Date.UTC(2026, 10, 26)));
  });

  it('counts offers_today only on the day they were counted', () => {
    expect(offersOnDay({ offersToday: 2, offersDay: dayIndex(T) }, T)).toBe(2);
    expect(offersOnDay({ offersToday: 2, offersDay: dayIndex(T) - 1 }, T)).toBe(0);
    expect(offersOnDay({ offersToday: 2, offersDay: null }, T)).toBe(0);
  });
});

describe('per-rule limits', () => {
  const rule = makeRule({ id: 'r', cooldownMs: DAY_MS, maxPerPlayer: 3 });

  it('passes a player who never got the rule', () => {
    expect(ruleLimitVerdict(rule, counters(), T)).toBeNull();
  });

  it('refuses inside the cooldown and names its end; passes exactly at the end', () => {
    const c = counters({ rules: new Map([['r', { cooldownUntil: T + 1000, lifetime: 1 }]]) });
    expect(ruleLimitVerdict(rule, c, T)).toEqual({ outcome: 'cooldown', until: T + 1000 });
    expect(ruleLimitVerdict(rule, c, T + 1000)).toBeNull();
  });

  it('refuses at the lifetime cap, not one before', () => {
    expect(ruleLimitVerdict(rule, counters({ rules: new Map([['r', { cooldownUntil: null, lifetime: 2 }]]) }), T)).toBeNull();
    expect(ruleLimitVerdict(rule, counters({ rules: new Map([['r', { cooldownUntil: null, lifetime: 3 }]]) }), T)).toEqual({ outcome: 'cap_reached', count: 3, max: 3 });
  });

  it('reports cooldown before the cap', () => {
    const c = counters({ rules: new Map([['r', { cooldownUntil: T + 5, lifetime: 3 }]]) });
    expect(ruleLimitVerdict(rule, c, T)?.outcome).toBe('cooldown');
  });

  it('ignores a stored cooldown when the rule (as now published) has none', () => {
    const c = counters({ rules: new Map([['r', { cooldownUntil: T + 5, lifetime: 0 }]]) });
    expect(ruleLimitVerdict(makeRule({ id: 'r' }), c, T)).toBeNull();
  });

  it('computes the next cooldown from the event time', () => {
    expect(cooldownAfter(rule, T)).toBe(T + DAY_MS);
    expect(cooldownAfter(makeRule({ id: 'x' }), T)).toBeNull();
  });
});

describe('budget', () => {
  const rule = makeRule({ id: 'b', budget: { count: 10, per: 'day' } });
  it('is exhausted at the count', () => {
    expect(budgetVerdict(rule, 9)).toBeNull();
    expect(budgetVerdict(rule, 10)).toEqual({ outcome: 'budget_exhausted', count: 10, max: 10, per: 'day' });
    expect(budgetVerdict(makeRule({ id: 'free' }), 1e9)).toBeNull();
  });
});

describe('fatigue', () => {
  const policy = { ...OPEN_POLICY, maxOffersPerDay: 3, quietAfterPurchaseMs: DAY_MS, quietAfterDeclineMs: 2 * HOUR_MS };

  it('caps offers per UTC day', () => {
    expect(fatigueVerdict(policy, counters({ offersToday: 2, offersDay: dayIndex(T) }), T)).toBeNull();
    expect(fatigueVerdict(policy, counters({ offersToday: 3, offersDay: dayIndex(T) }), T)).toEqual({ outcome: 'fatigue_daily_cap', count: 3, max: 3 });
    expect(fatigueVerdict(policy, counters({ offersToday: 3, offersDay: dayIndex(T) - 1 }), T)).toBeNull();
  });

  it('keeps quiet after a purchase and after a decline, until the period ends', () => {
    expect(fatigueVerdict(policy, counters({ lastPurchaseAt: T - 1000 }), T)).toEqual({ outcome: 'fatigue_after_purchase', until: T - 1000 + DAY_MS });
    expect(fatigueVerdict(policy, counters({ lastPurchaseAt: T - DAY_MS }), T)).toBeNull();
    expect(fatigueVerdict(policy, counters({ lastDeclineAt: T - HOUR_MS }), T)).toEqual({ outcome: 'fatigue_after_decline', until: T + HOUR_MS });
    expect(fatigueVerdict(policy, counters({ lastDeclineAt: T - 2 * HOUR_MS }), T)).toBeNull();
  });

  it('ignores a purchase or decline later than the event (applied with a later event of the same batch)', () => {
    expect(fatigueVerdict(policy, counters({ lastPurchaseAt: T + 1 }), T)).toBeNull();
    expect(fatigueVerdict(policy, counters({ lastDeclineAt: T + 1 }), T)).toBeNull();
    expect(fatigueVerdict(policy, counters({ lastPurchaseAt: T }), T)).toEqual({ outcome: 'fatigue_after_purchase', until: T + DAY_MS });
  });

  it('applies nothing under an open policy', () => {
    expect(fatigueVerdict(OPEN_POLICY, counters({ offersToday: 99, offersDay: dayIndex(T), lastPurchaseAt: T, lastDeclineAt: T }), T)).toBeNull();
  });
});
