import type { Bundle, Condition, ConditionInput, Policy, Rule, Variant } from '../../offers/designer/types.ts';
import { errorMessage } from '../../lib/errors.ts';

/**
 * Hand-built rules and bundles for the engine's unit tests and its benchmark: the same
 * shapes the designer compiler produces, with conditions as plain functions.
 */
export function jsCondition(source: string, reads: readonly string[], fn: (input: ConditionInput) => boolean): Condition {
  return {
    source,
    reads,
    evaluate(input) {
      try {
        return { value: fn(input) };
      } catch (err) {
        return { value: false, error: errorMessage(err) };
      }
    },
  };
}

export interface RuleSpec {
  id: string;
  event?: string;
  when?: Condition | null;
  mode?: 'live' | 'shadow';
  priority?: number;
  cooldownMs?: number | null;
  maxPerPlayer?: number | null;
  budget?: { count: number; per: 'day' | 'hour' } | null;
  variants?: Variant[];
  ttlMs?: number;
  followUp?: Rule['followUp'];
  enabled?: boolean;
  followUpOnly?: boolean;
}

export function makeRule(s: RuleSpec): Rule {
  return {
    id: s.id,
    file: `${s.id}.yaml`,
    description: s.id,
    enabled: s.enabled ?? true,
    mode: s.mode ?? 'live',
    priority: s.priority ?? 0,
    trigger: { event: s.event ?? 'match.end', when: s.when ?? null },
    offer: {
      sku: `sku.${s.id}`,
      title: `Offer ${s.id}`,
      price: { amount: 199, currency: 'USD' },
      discountPct: 40,
      ttlMs: s.ttlMs ?? 15 * 60_000,
      data: null,
    },
    limits: { cooldownMs: s.cooldownMs ?? null, maxPerPlayer: s.maxPerPlayer ?? null, budget: s.budget ?? null },
    experiment: s.variants ? { variants: s.variants } : null,
    followUp: s.followUp ?? null,
    ...(s.followUpOnly ? { followUpOnly: true } : {}),
  };
}

export const OPEN_POLICY: Policy = { maxOffersPerDay: null, quietAfterPurchaseMs: null, quietAfterDeclineMs: null, holdoutPercent: 0, revenue: null, retentionMs: 90 * 86_400_000 };

/** A bundle of `rules` (indexed by trigger event, highest priority first) under `policy`. */
export function makeBundle(rules: readonly Rule[], policy: Policy = OPEN_POLICY, version = 1): Bundle {
  const byEvent = new Map<string, Rule[]>();
  for (const r of rules) {
    if (!r.enabled || r.followUpOnly) continue;
    const list = byEvent.get(r.trigger.event) ?? [];
    list.push(r);
    byEvent.set(r.trigger.event, list);
  }
  for (const list of byEvent.values()) list.sort((a, b) => b.priority - a.priority || a.id.localeCompare(b.id));
  return {
    version,
    hash: `fixture-${version}`,
    files: {},
    events: new Map(),
    properties: [],
    policy,
    rules,
    rulesByEvent: byEvent,
    propertiesByEvent: new Map(),
  };
}
