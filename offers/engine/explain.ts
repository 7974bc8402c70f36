import type { ShapedField, ShapedResult } from '../../designer/types.ts';
import type { LimitVerdict } from './limits.ts';

/**
 * Explanations: for every triggering event, each rule considered, its outcome and why, with
 * the values its condition read. Stored newest first in the player's `decisions` list
 * (bounded) and served by `GET /v1/players/{id}/decisions`. The shape is public (docs/offers.md).
 */
export const OUTCOMES = [
  'offered',
  'shadow',
  'condition_false',
  'control_arm',
  'holdout',
  'cooldown',
  'cap_reached',
  'budget_exhausted',
  'fatigue_daily_cap',
  'fatigue_after_purchase',
  'fatigue_after_decline',
  'lost_to_priority',
  // Appended: the compact records in Redis store an outcome as its index here.
  'outside_schedule',
] as const;

export type Outcome = (typeof OUTCOMES)[number];

export interface RuleDecision {
  readonly ruleId: string;
  readonly mode: 'live' | 'shadow';
  readonly priority: number;
  readonly variant: string | null;
  readonly outcome: Outcome;
  /** One human line, e.g. "cooldown until 2026-11-26T17:00:00.000Z". */
  readonly reason: string;
  /** End of a cooldown or quiet period (ms), or the next window start of `outside_schedule`, when the outcome has one. */
  readonly until?: number;
  /** Offer id made (live) or that would have been made (shadow). */
  readonly offerId?: string;
  /** Each path of `Condition.reads` with the value the condition saw (null when absent). */
  readonly values: Readonly<Record<string, unknown>>;
  /** A runtime error of the condition (it then counts as false). */
  readonly error?: string;
  /** The offer's fields computed per player (designer/shaped.ts), for the offer made or that a shadow rule would have made. */
  readonly shaped?: readonly ShapedValue[];
}

/** One shaped field of an offer: its value, how it came about, and the inputs its expression read. */
export interface ShapedValue extends ShapedResult {
  readonly field: ShapedField;
  /** Each path the expression (or template) read, with the value it saw (null when absent). */
  readonly inputs: Readonly<Record<string, unknown>>;
}

/** One human line for a shaped value, e.g. "price.amount 1999: clamped from 2398.8 to 1999". */
export function shapedLine(s: ShapedValue): string {
  const v = JSON.stringify(s.value);
  if (s.outcome === 'fallback') return `${s.field} ${v}: fallback to the default (${s.error ?? 'runtime error'})`;
  if (s.outcome === 'clamped') return `${s.field} ${v}: clamped from ${JSON.stringify(s.computed)} to ${v}`;
  return s.computed === s.value ? `${s.field} ${v}: computed` : `${s.field} ${v}: computed ${JSON.stringify(s.computed)}, rounded`;
}

export interface DecisionRecord {
  readonly eventId: string;
  readonly eventType: string;
  /** The event's recvAt: the time every check used. */
  readonly at: number;
  readonly bundleVersion: number;
  /** The live offer made for this event, if any (at most one). */
  readonly offerId: string | null;
  readonly rules: readonly RuleDecision[];
  /** Set for decisions made by a follow-up job: the offer the follow-up comes after. */
  readonly followUpOf?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The reason line for a limit verdict. */
export function verdictReason(v: LimitVerdict): string {
  switch (v.outcome) {
    case 'cooldown':
      return `cooldown until ${iso(v.until)}`;
    case 'cap_reached':
      return `cap reached: ${v.count} of ${v.max} offers per player`;
    case 'budget_exhausted':
      return `budget exhausted: ${v.count} of ${v.max} per ${v.per}`;
    case 'fatigue_daily_cap':
      return v.segment === undefined ? `fatigue: daily cap, ${v.count} of ${v.max} offers today` : `fatigue: daily cap of segment ${v.segment}, ${v.count} of ${v.max} offers today`;
    case 'fatigue_after_purchase':
      return `fatigue: quiet after purchase until ${iso(v.until)}`;
    case 'fatigue_after_decline':
      return `fatigue: quiet after decline until ${iso(v.until)}`;
  }
}

export const FIXED_REASONS = {
  offered: 'offered',
  shadow: 'shadow: would have offered; not delivered, no limits consumed',
  condition_false: 'condition false',
  control_arm: 'control arm of the experiment: no offer',
  holdout: 'player is in the global holdout',
  lost_to_priority: 'lost to higher priority',
} as const;

/** The reason line of `outside_schedule`. */
export function outsideScheduleReason(nextStart: number | null): string {
  return nextStart === null ? 'outside schedule; it does not apply again' : `outside schedule until ${iso(nextStart)}`;
}

/** The `until` of a verdict, when it has one. */
export function verdictUntil(v: LimitVerdict): number | undefined {
  return 'until' in v ? v.until : undefined;
}
