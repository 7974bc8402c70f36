import type { Considered } from './evaluate.ts';
import { FIXED_REASONS, outsideScheduleReason, verdictReason, verdictUntil, type DecisionRecord, type RuleDecision, type ShapedValue } from './explain.ts';
import type { LimitVerdict } from './limits.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface ShapeInput {
  readonly eventId: string;
  readonly eventType: string;
  readonly at: number;
  readonly bundleVersion: number;
  readonly considered: readonly Considered[];
  readonly verdicts: ReadonlyMap<string, LimitVerdict | null>;
  /** Rule id of the live offer made, if any. */
  readonly winner: string | null;
  /** Offer id per rule id (deterministic; also for shadow rules). */
  readonly offerIds: ReadonlyMap<string, string>;
  readonly followUpOf?: string;
  /** The shaped values of the offer made, and of shadow rules' offers, by rule id (offer.ts, shapedByRule). */
  readonly shaped?: ReadonlyMap<string, readonly ShapedValue[]>;
}

/** Builds the explanation of one decision from its parts. Pure. */
export function shapeDecision(s: ShapeInput): DecisionRecord {
  const rules = s.considered.map((c): RuleDecision => {
    const r: Mutable<RuleDecision> = {
      ruleId: c.rule.id,
      mode: c.rule.mode,
      priority: c.rule.priority,
      variant: c.variant?.name ?? null,
      outcome: 'offered',
      reason: FIXED_REASONS.offered,
      values: c.values,
    };
    if (c.error !== undefined) r.error = c.error;
    const verdict = c.pre === null ? (s.verdicts.get(c.rule.id) ?? null) : null;
    if (c.pre === 'outside_schedule') {
      r.outcome = c.pre;
      r.reason = outsideScheduleReason(c.nextStart ?? null);
      if (typeof c.nextStart === 'number') r.until = c.nextStart;
    } else if (c.pre !== null) {
      r.outcome = c.pre;
      r.reason = FIXED_REASONS[c.pre];
    } else if (verdict !== null) {
      r.outcome = verdict.outcome;
      r.reason = verdictReason(verdict);
      const until = verdictUntil(verdict);
      if (until !== undefined) r.until = until;
    } else if (c.rule.mode === 'shadow' || c.rule.id === s.winner) {
      if (c.rule.mode === 'shadow') {
        r.outcome = 'shadow';
        r.reason = FIXED_REASONS.shadow;
      }
      const offerId = s.offerIds.get(c.rule.id);
      if (offerId !== undefined) r.offerId = offerId;
      const shaped = s.shaped?.get(c.rule.id);
      if (shaped !== undefined) r.shaped = shaped;
    } else {
      r.outcome = 'lost_to_priority';
      r.reason = s.winner ? `lost to higher priority (${s.winner})` : FIXED_REASONS.lost_to_priority;
    }
    return r;
  });
  const record: Mutable<DecisionRecord> = {
    eventId: s.eventId,
    eventType: s.eventType,
    at: s.at,
    bundleVersion: s.bundleVersion,
    offerId: s.winner !== null ? (s.offerIds.get(s.winner) ?? null) : null,
    rules,
  };
  // Assigned, not spread in: once per decision (input.ts playerView).
  if (s.followUpOf !== undefined) record.followUpOf = s.followUpOf;
  return record;
}
