/**
 * The compiled designer bundle (docs/contract.md §4): what every role reads. Produced only by
 * the designer compiler (designer/compile.ts) from the files of a rules folder or a
 * published version; immutable once built. Roles swap whole bundles, never parts.
 */

import type { Schedule } from './schedule.ts';

/** CEL-facing type of an event field or a player property. */
export type ValueType = 'string' | 'int' | 'double' | 'bool' | 'map' | 'list' | 'timestamp';

export interface FieldSpec {
  readonly name: string;
  readonly type: ValueType;
  readonly enum: readonly string[] | null;
  readonly required: boolean;
}

export interface EventSpec {
  readonly type: string;
  /** offer.shown / offer.accepted / offer.declined / offer.purchased. */
  readonly builtin: boolean;
  readonly fields: ReadonlyMap<string, FieldSpec>;
}

/** What a condition sees. Numbers are plain JS numbers; the compiler adapts them for CEL. */
export interface ConditionInput {
  readonly event: { readonly type: string; readonly id: string; readonly ts: number; readonly data: Readonly<Record<string, unknown>> };
  readonly player: Readonly<Record<string, unknown>>;
  /**
   * The values of the bundle's active segments for this player (`segment.<name>`), found
   * once per decision (Bundle.segments.evaluate); absent: rule conditions find them on use.
   */
  readonly segment?: Readonly<Record<string, boolean>>;
}

export interface Condition {
  readonly source: string;
  /** Dotted paths the expression reads, e.g. "player.loss_streak", "event.data.result". */
  readonly reads: readonly string[];
  /** Never throws: a runtime CEL error (missing optional field, overflow) evaluates to false and is reported in `error`. */
  evaluate(input: ConditionInput): { value: boolean; error?: string };
}

export type PropertyKind = 'count' | 'sum' | 'min' | 'max' | 'last' | 'streak';

export interface PropertySpec {
  readonly name: string;
  readonly kind: PropertyKind;
  readonly event: string;
  readonly when: Condition | null;
  /** Path into the event record for sum/min/max/last, e.g. ["data", "coins"]. */
  readonly field: readonly string[] | null;
  /** Sliding window for count/sum. */
  readonly windowMs: number | null;
  /** The type `player.<name>` has in conditions. */
  readonly valueType: ValueType;
}

export interface Policy {
  readonly maxOffersPerDay: number | null;
  readonly quietAfterPurchaseMs: number | null;
  readonly quietAfterDeclineMs: number | null;
  readonly holdoutPercent: number;
  /** What players spend, for lift against the holdout (docs/offers.md, "Lift"); null: not declared. */
  readonly revenue: RevenueSpec | null;
  /**
   * How long an inactive player's keys live: every write to a player's keys sets their
   * expiry to now (Redis server clock) + this (docs/operations.md, "Retention").
   */
  readonly retentionMs: number;
  /** `segments:` of policy.yaml: per segment name, the daily cap of its players (designer/segments.ts). */
  readonly segmentCaps: ReadonlyMap<string, number>;
}

export interface RevenueSpec {
  /** The declared event type that reports a purchase outside the offers. */
  readonly event: string;
  /** Its data field with the amount (int, minor units). */
  readonly amountField: string;
  /** Every amount in one currency, or the data field (string) carrying its ISO 4217 code. */
  readonly currency: { readonly code: string } | { readonly field: string };
  /** Spend counts towards a rule for this long after the player last triggered it. */
  readonly windowMs: number;
}

export interface Variant {
  readonly name: string;
  readonly weight: number;
  readonly holdout: boolean;
  /** Offer fields this arm overrides (price, discountPct, title, sku, data). */
  readonly offer: Partial<RuleOffer>;
}

/**
 * `experiment.allocation: bandit`: the shares of the arms that are not holdouts are learned
 * from their conversions by Thompson sampling (offers/engine/bandit.ts); holdout arms keep
 * their weight's share.
 */
export interface Bandit {
  readonly objective: 'purchase_rate' | 'revenue';
  /** Least share of each non-holdout arm (0..0.5). */
  readonly minShare: number;
  /** Offers each non-holdout arm makes at its weight before the shares are learned. */
  readonly warmup: number;
}

export interface RuleOffer {
  readonly sku: string;
  /** For a shaped title, its `default`. */
  readonly title: string | null;
  /** For a shaped amount, its `default`. */
  readonly price: { readonly amount: number; readonly currency: string };
  readonly discountPct: number | null;
  /** How many units of `sku` the offer sells; absent or null: not stated (one). */
  readonly quantity?: number | null;
  readonly ttlMs: number;
  readonly data: Readonly<Record<string, unknown>> | null;
  /**
   * The fields computed per player (designer/shaped.ts); absent or empty: none. On a
   * variant's override it is the arm's whole list: the rule's shaped fields the arm does not
   * override, then the arm's own.
   */
  readonly shaped?: readonly ShapedSpec[];
}

export type ShapedNumberField = 'price.amount' | 'discountPct' | 'quantity';
export type ShapedField = ShapedNumberField | 'title';

/** One offer field computed per player: a numeric CEL expression with bounds, or a title template. */
export interface ShapedSpec {
  readonly field: ShapedField;
  /** The CEL expression; for `title`, the template with its `{{ … }}` placeholders. */
  readonly source: string;
  /** The bounds of a computed number; null for a title (cut at 200 characters). */
  readonly bounds: { readonly min: number; readonly max: number; readonly round: number | null } | null;
  /** The value on a runtime error: the field's declared `default`. */
  readonly fallback: number | string;
  /** Dotted paths the expression reads, like `Condition.reads`. */
  readonly reads: readonly string[];
  /** Never throws. */
  evaluate(input: ConditionInput): ShapedResult;
}

/**
 * What a shaped field came to for one player: `computed` (inside the bounds, after
 * rounding), `clamped` (the rounded value was outside them; a title over 200 characters),
 * or `fallback` (a runtime error; the declared default).
 */
export interface ShapedResult {
  readonly value: number | string;
  readonly outcome: 'computed' | 'clamped' | 'fallback';
  /** The expression's value before rounding and clamping (the whole rendered title); absent on fallback. */
  readonly computed?: number | string;
  readonly error?: string;
}

export interface FollowUp {
  readonly afterMs: number;
  /** Response that cancels the follow-up, e.g. "offer.purchased". */
  readonly unless: string;
  readonly rule: string;
}

export interface Rule {
  readonly id: string;
  readonly file: string;
  readonly description: string;
  readonly enabled: boolean;
  readonly mode: 'live' | 'shadow';
  readonly priority: number;
  readonly trigger: { readonly event: string; readonly when: Condition | null };
  readonly offer: RuleOffer;
  readonly limits: {
    readonly cooldownMs: number | null;
    readonly maxPerPlayer: number | null;
    readonly budget: { readonly count: number; readonly per: 'day' | 'hour' } | null;
  };
  readonly experiment: { readonly variants: readonly Variant[]; readonly bandit?: Bandit } | null;
  readonly followUp: FollowUp | null;
  /**
   * `trigger.followUpOnly: true`: never triggered by an event directly (left out of
   * `rulesByEvent`); evaluated only when another rule's `followUp` names it.
   */
  readonly followUpOnly?: boolean;
  /** `schedule:`: when the rule applies, by the event's time (designer/schedule.ts); absent: always. */
  readonly schedule?: Schedule;
}

export interface Bundle {
  /** Published version number; 0 for a bundle compiled from a folder and not published. */
  readonly version: number;
  /** sha256 of the canonical file set: equal bundles have equal hashes. */
  readonly hash: string;
  /** File name -> YAML text, as published. */
  readonly files: Readonly<Record<string, string>>;
  readonly events: ReadonlyMap<string, EventSpec>;
  readonly properties: readonly PropertySpec[];
  readonly policy: Policy;
  readonly rules: readonly Rule[];
  /** Enabled rules by trigger event type, highest priority first. */
  readonly rulesByEvent: ReadonlyMap<string, readonly Rule[]>;
  /** Properties by event type, in declaration order. */
  readonly propertiesByEvent: ReadonlyMap<string, readonly PropertySpec[]>;
  /** segments.yaml: named player conditions, usable as `segment.<name>` (designer/segments.ts). */
  readonly segments: SegmentSet;
}

export interface SegmentSpec {
  readonly name: string;
  readonly description: string;
  readonly condition: Condition;
  /** Segments its condition reads (`segment.<name>`). */
  readonly dependsOn: readonly string[];
}

/** A bundle's segments; evaluates only the active ones: those its rules and policy name, and what they depend on. */
export interface SegmentSet {
  /** Every declared segment, in declaration order. */
  readonly all: readonly SegmentSpec[];
  /** Names of the segments a decision evaluates, in evaluation order (dependencies first). */
  readonly active: readonly string[];
  /** The active segments' values for one input; computed once per input object. */
  evaluate(input: ConditionInput): Readonly<Record<string, boolean>>;
}

/** One finding of validation: file, 1-based line and column, message, optional hint. */
export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly code: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly hint?: string;
}

/** Where roles get the current bundle; swaps atomically on publish/rollback. */
export interface BundleSource {
  current(): Bundle;
  /** Called after each swap with the new bundle. Returns an unsubscribe function. */
  onChange(listener: (bundle: Bundle) => void): () => void;
}
