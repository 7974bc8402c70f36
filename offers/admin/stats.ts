import { offerKeys } from '../../lib/keys.ts';
import type { RedisClient } from '../../lib/redis.ts';
import type { Bundle } from '../../designer/types.ts';
import { HOLDOUT_GROUP } from '../engine/attribution.ts';
import { allocateRule, type Allocation } from '../engine/bandit.ts';
import { armFields } from '../engine/bandit-cache.ts';

/**
 * The bandit of a row of an `allocation: bandit` rule: the arm's current share and its
 * posterior (mean and 95 % interval of the objective: purchases per offer, or revenue per
 * offer in minor units); the posterior is null for a holdout arm (outside the bandit).
 */
export interface BanditCell {
  objective: 'purchase_rate' | 'revenue';
  share: number;
  warmingUp: boolean;
  mean: number | null;
  low: number | null;
  high: number | null;
}

/** The counters of one rule × variant, as `GET /v1/stats/rules` serves them. */
export const STAT_COUNTERS = ['triggered', 'offered', 'shadow_offered', 'delivered', 'shown', 'accepted', 'declined', 'purchased', 'expired', 'granted', 'exposed'] as const;

export type StatRow = { ruleId: string; variant: string; mode: 'live' | 'shadow' | null; published: boolean } & Record<(typeof STAT_COUNTERS)[number], number> & {
  /** Revenue in minor units in the rule's main currency (the one with most revenue). */
  revenue: number;
  currency: string | null;
  revenueByCurrency: Record<string, number>;
  /** Spend of the exposed players in their attribution windows, minor units in `spendCurrency`. */
  spend: number;
  /** The rule's main spend currency (most spend over its groups); lift is measured in it. */
  spendCurrency: string | null;
  spendByCurrency: Record<string, number>;
  /** spend / exposed; null without exposures. */
  spendPerExposed: number | null;
  /** Sum over this group's windows of the square of each window's spend, in `spendCurrency`. */
  spendSq: number;
  spendSqByCurrency: Record<string, number>;
  /** spendPerExposed / the `(holdout)` row's - 1; null for the holdout row, or without a baseline. */
  lift: number | null;
  /**
   * 95 % confidence interval of `lift` (delta method over the two groups' spend per window);
   * null while either group has fewer than two windows or the baseline spent nothing.
   */
  liftLow: number | null;
  liftHigh: number | null;
  /** Null unless the rule is a live `allocation: bandit` experiment and this row one of its variants. */
  bandit: BanditCell | null;
};


/** Every rule with counters (published now or not), and every published rule, by variant. */
export async function ruleStats(redis: RedisClient, prefix: string, bundle: Bundle): Promise<StatRow[]> {
  const keys = offerKeys(prefix);
  const known = new Set(await redis.smembers(keys.statsRules));
  for (const r of bundle.rules) known.add(r.id);
  const ids = [...known].sort();
  const hashes = await Promise.all(ids.map((id) => redis.hgetall(keys.stats(id))));
  const rows: StatRow[] = [];
  ids.forEach((ruleId, i) => {
    const rule = bundle.rules.find((r) => r.id === ruleId);
    const h = hashes[i] ?? {};
    const variants = new Set<string>(rule?.experiment ? rule.experiment.variants.map((v) => v.name) : rule ? ['default'] : []);
    const allocation = rule?.mode === 'live' && rule.enabled ? banditAllocation(rule, h) : null;
    for (const field of Object.keys(h)) variants.add(field.split('|')[0] ?? 'default');
    // Variants in name order, the global holdout's group last.
    const order = (a: string, b: string) => Number(a === HOLDOUT_GROUP) - Number(b === HOLDOUT_GROUP) || (a < b ? -1 : a > b ? 1 : 0);
    for (const variant of [...variants].sort(order)) {
      const counters = Object.fromEntries(STAT_COUNTERS.map((c) => [c, Number(h[`${variant}|${c}`] ?? 0)])) as Record<(typeof STAT_COUNTERS)[number], number>;
      const money = (kind: 'revenue' | 'spend' | 'spendsq'): Record<string, number> => {
        const out: Record<string, number> = {};
        for (const [field, value] of Object.entries(h)) {
          const [v, name, currency] = field.split('|');
          if (v === variant && name === kind && currency) out[currency] = Number(value);
        }
        return out;
      };
      const revenueByCurrency = money('revenue');
      const main = Object.entries(revenueByCurrency).sort((a, b) => b[1] - a[1])[0];
      rows.push({
        ruleId,
        variant,
        mode: rule?.mode ?? null,
        published: rule !== undefined,
        ...counters,
        revenue: main?.[1] ?? 0,
        currency: main?.[0] ?? rule?.offer.price.currency ?? null,
        revenueByCurrency,
        spend: 0,
        spendCurrency: null,
        spendByCurrency: money('spend'),
        spendPerExposed: null,
        spendSq: 0,
        spendSqByCurrency: money('spendsq'),
        lift: null,
        liftLow: null,
        liftHigh: null,
        bandit: allocation && rule?.experiment?.bandit ? banditCell(rule.experiment.bandit.objective, allocation, variant) : null,
      });
    }
  });
  return withLift(rows);
}

/** The allocation of a bandit rule from its stats hash, as every processor computes it on its next refresh. */
function banditAllocation(rule: Bundle['rules'][number], h: Record<string, string>): Allocation | null {
  return allocateRule(rule, (variant) => {
    const [offered, purchased, revenue] = armFields(rule, variant).map((f) => Number(h[f] ?? 0));
    return { offered: offered ?? 0, purchased: purchased ?? 0, revenue: revenue ?? 0 };
  });
}

function banditCell(objective: BanditCell['objective'], allocation: Allocation, variant: string): BanditCell | null {
  const arm = allocation.arms.find((a) => a.name === variant);
  if (!arm) return null;
  return { objective, share: arm.share, warmingUp: allocation.warmingUp, mean: arm.posterior?.mean ?? null, low: arm.posterior?.low ?? null, high: arm.posterior?.high ?? null };
}

/** z for a two-sided 95 % interval. */
const Z95 = 1.959964;

/** Mean and squared standard error of the mean of per-window spend, from n, sum and sum of squares. */
function meanAndSe2(n: number, sum: number, sumSq: number): { mean: number; se2: number } | null {
  if (n < 2) return null;
  const mean = sum / n;
  const variance = Math.max(0, (sumSq - n * mean * mean) / (n - 1));
  return { mean, se2: variance / n };
}

/**
 * Lift of `variant` over `base` (mean spend per window) with a 95 % interval by the delta
 * method: Var(a/b) ≈ Var(a)/b² + a²·Var(b)/b⁴, cut at -100 % below (small groups give
 * symmetric intervals wider than the lift can go). Null when either side has fewer than two
 * windows or the baseline mean is 0.
 */
export function liftInterval(
  variant: { n: number; sum: number; sumSq: number },
  base: { n: number; sum: number; sumSq: number },
): { lift: number; low: number; high: number } | null {
  const a = meanAndSe2(variant.n, variant.sum, variant.sumSq);
  const b = meanAndSe2(base.n, base.sum, base.sumSq);
  if (!a || !b || b.mean === 0) return null;
  const ratio = a.mean / b.mean;
  const se = Math.sqrt(a.se2 / b.mean ** 2 + (a.mean ** 2 * b.se2) / b.mean ** 4);
  // Spend is never negative, so neither is the ratio: the interval stops at -100 %.
  return { lift: ratio - 1, low: Math.max(-1, ratio - 1 - Z95 * se), high: ratio - 1 + Z95 * se };
}

/**
 * Fills spend, spendPerExposed, lift and its interval. Per rule, spend is read in the
 * currency with most spend over all its groups; lift of a variant is its spend per exposed
 * player over the `(holdout)` group's, minus 1 — null when either has no exposures or the
 * holdout spent nothing.
 */
export function withLift(rows: StatRow[]): StatRow[] {
  const byRule = new Map<string, StatRow[]>();
  for (const r of rows) byRule.set(r.ruleId, [...(byRule.get(r.ruleId) ?? []), r]);
  for (const group of byRule.values()) {
    const totals = new Map<string, number>();
    for (const r of group) for (const [c, n] of Object.entries(r.spendByCurrency)) totals.set(c, (totals.get(c) ?? 0) + n);
    const currency = [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? null;
    for (const r of group) {
      r.spendCurrency = currency;
      r.spend = currency ? (r.spendByCurrency[currency] ?? 0) : 0;
      r.spendSq = currency ? (r.spendSqByCurrency[currency] ?? 0) : 0;
      r.spendPerExposed = r.exposed > 0 ? r.spend / r.exposed : null;
    }
    const holdout = group.find((r) => r.variant === HOLDOUT_GROUP);
    const base = holdout?.spendPerExposed ?? null;
    for (const r of group) {
      r.lift = r.variant === HOLDOUT_GROUP || r.spendPerExposed === null || base === null || base === 0 ? null : r.spendPerExposed / base - 1;
      const ci = r.lift === null || !holdout ? null : liftInterval({ n: r.exposed, sum: r.spend, sumSq: r.spendSq }, { n: holdout.exposed, sum: holdout.spend, sumSq: holdout.spendSq });
      r.liftLow = ci?.low ?? null;
      r.liftHigh = ci?.high ?? null;
    }
  }
  return rows;
}
