import type { Policy, Rule } from '../../designer/types.ts';

/**
 * Limit arithmetic, pure. Time is always the triggering event's `recvAt` (never the wall
 * clock), so a replay or a backtest of the same events reaches the same verdicts. The Lua
 * script decidePlayers-n.lua re-applies exactly these checks atomically before it consumes limits.
 */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** UTC day number of `now`: `offers_today` counts offers whose day equals this. */
export function dayIndex(now: number): number {
  return Math.floor(now / DAY_MS);
}

/** Start (ms) of the budget window holding `now`; windows are aligned to UTC hours/days. */
export function budgetWindowStart(now: number, per: 'day' | 'hour'): number {
  const size = per === 'day' ? DAY_MS : HOUR_MS;
  return Math.floor(now / size) * size;
}

export function budgetWindowEnd(now: number, per: 'day' | 'hour'): number {
  return budgetWindowStart(now, per) + (per === 'day' ? DAY_MS : HOUR_MS);
}

/** What the per-player checks need, as read from the player's `limits` and `state` hashes. */
export interface PlayerCounters {
  /** Per rule id: cooldown end (ms), lifetime offer count and, for a bandit rule, the arm pinned to the player (null: none yet). */
  readonly rules: ReadonlyMap<string, { readonly cooldownUntil: number | null; readonly lifetime: number; readonly arm?: string | null }>;
  /** Raw `offers_today` and the day it counts (`offers_day`). */
  readonly offersToday: number;
  readonly offersDay: number | null;
  readonly lastPurchaseAt: number | null;
  readonly lastDeclineAt: number | null;
}

export type LimitVerdict =
  | { readonly outcome: 'cooldown'; readonly until: number }
  | { readonly outcome: 'cap_reached'; readonly count: number; readonly max: number }
  | { readonly outcome: 'budget_exhausted'; readonly count: number; readonly max: number; readonly per: 'day' | 'hour' }
  | { readonly outcome: 'fatigue_daily_cap'; readonly count: number; readonly max: number; readonly segment?: string }
  | { readonly outcome: 'fatigue_after_purchase'; readonly until: number }
  | { readonly outcome: 'fatigue_after_decline'; readonly until: number };

/** Offers the player already got on the UTC day of `now`. */
export function offersOnDay(c: Pick<PlayerCounters, 'offersToday' | 'offersDay'>, now: number): number {
  return c.offersDay === dayIndex(now) ? c.offersToday : 0;
}

/** Per-rule checks in contract order: cooldown, then lifetime cap. Null when both pass. */
export function ruleLimitVerdict(rule: Pick<Rule, 'id' | 'limits'>, c: PlayerCounters, now: number): LimitVerdict | null {
  const r = c.rules.get(rule.id);
  if (rule.limits.cooldownMs !== null && r?.cooldownUntil != null && now < r.cooldownUntil) {
    return { outcome: 'cooldown', until: r.cooldownUntil };
  }
  const lifetime = r?.lifetime ?? 0;
  if (rule.limits.maxPerPlayer !== null && lifetime >= rule.limits.maxPerPlayer) {
    return { outcome: 'cap_reached', count: lifetime, max: rule.limits.maxPerPlayer };
  }
  return null;
}

/** Budget check against a count read (or reserved) for the window of `now`. */
export function budgetVerdict(rule: Pick<Rule, 'limits'>, used: number): LimitVerdict | null {
  const b = rule.limits.budget;
  if (b === null || used < b.count) return null;
  return { outcome: 'budget_exhausted', count: used, max: b.count, per: b.per };
}

/** The daily cap of one decision (designer/segments.ts `dailyCapFor`): `segment` names the segment whose cap it is, null for the global one. */
export interface DailyCap {
  readonly max: number | null;
  readonly segment: string | null;
}

/**
 * Policy-wide fatigue: daily cap, then quiet after purchase, then quiet after decline. A
 * quiet period covers [at, at + quiet): a purchase or decline later than `now` (applied with
 * a later event of the same batch) is this event's future and does not count. `cap` is the
 * player's daily cap (a segment's, or by default the policy's `maxOffersPerDay`).
 */
export function fatigueVerdict(policy: Policy, c: PlayerCounters, now: number, cap: DailyCap = { max: policy.maxOffersPerDay, segment: null }): LimitVerdict | null {
  const today = offersOnDay(c, now);
  if (cap.max !== null && today >= cap.max) {
    return cap.segment === null ? { outcome: 'fatigue_daily_cap', count: today, max: cap.max } : { outcome: 'fatigue_daily_cap', count: today, max: cap.max, segment: cap.segment };
  }
  if (policy.quietAfterPurchaseMs !== null && c.lastPurchaseAt !== null && inQuiet(c.lastPurchaseAt, policy.quietAfterPurchaseMs, now)) {
    return { outcome: 'fatigue_after_purchase', until: c.lastPurchaseAt + policy.quietAfterPurchaseMs };
  }
  if (policy.quietAfterDeclineMs !== null && c.lastDeclineAt !== null && inQuiet(c.lastDeclineAt, policy.quietAfterDeclineMs, now)) {
    return { outcome: 'fatigue_after_decline', until: c.lastDeclineAt + policy.quietAfterDeclineMs };
  }
  return null;
}

function inQuiet(at: number, quietMs: number, now: number): boolean {
  return at <= now && now < at + quietMs;
}

/** Cooldown end after an offer at `now`; null when the rule has no cooldown. */
export function cooldownAfter(rule: Pick<Rule, 'limits'>, now: number): number | null {
  return rule.limits.cooldownMs === null ? null : now + rule.limits.cooldownMs;
}
