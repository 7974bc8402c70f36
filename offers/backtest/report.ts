import type { Bundle, Rule } from '../../designer/types.ts';
import type { DecisionRecord } from '../engine/explain.ts';
import { variantLabel } from '../engine/offer.ts';

/**
 * The backtest report, built from the decision records the engine produced for the window.
 * Counting follows the live stats (offers/engine/decide.ts): a rule `triggers` when its
 * condition held, whatever happened next; `offers` are live offers made, `shadowOffers`
 * what a shadow rule would have made; every other outcome after the condition is a block
 * by that guardrail. Variants are labelled as in live stats (`default` without an experiment).
 */
export interface RuleVariantReport {
  readonly ruleId: string;
  readonly variant: string;
  readonly mode: 'live' | 'shadow';
  readonly triggers: number;
  readonly offers: number;
  readonly shadowOffers: number;
  /** Distinct players who got (or, for shadow rules, would have got) an offer. */
  readonly uniquePlayers: number;
  /** Outcome -> count, for every outcome after the condition other than an offer. */
  readonly blocked: Readonly<Record<string, number>>;
  /**
   * Offer price of this arm (minor units); for a price computed per player (docs/designers.md,
   * "Offers shaped per player"), the mean price of the offers made (the default when none).
   */
  readonly price: { readonly amount: number; readonly currency: string };
  /** Observed live purchase rate (purchased / offered) of this rule × variant; null without live history. */
  readonly purchaseRate: number | null;
  /** The sum of the offers' prices (shadow: of shadowOffers) × purchaseRate, in minor units; null ("unknown") without a rate. */
  readonly projectedRevenue: number | null;
}

export interface BundleReport {
  readonly version: number;
  readonly hash: string;
  readonly rows: readonly RuleVariantReport[];
}

export interface BacktestReport {
  readonly window: { readonly from: number; readonly to: number; readonly events: number };
  readonly draft: BundleReport;
  readonly published: BundleReport | null;
  readonly elapsedMs: number;
}

/** Live purchase history of one rule × variant, from the live stats. */
export interface LiveRate {
  readonly offered: number;
  readonly purchased: number;
}

interface Tally {
  triggers: number;
  offers: number;
  shadowOffers: number;
  players: Set<string>;
  blocked: Map<string, number>;
  /** Offers (live or shadow) whose price was computed per player, and the sum of those prices. */
  computedPrices: number;
  computedAmount: number;
}

const NOT_BLOCKS = new Set(['condition_false', 'outside_schedule', 'offered', 'shadow']);

/** Accumulates decision records of one bundle; `rows()` gives the report rows in a stable order. */
export class ReportBuilder {
  private readonly tallies = new Map<string, Tally>();

  constructor(private readonly bundle: Bundle) {}

  add(playerId: string, record: DecisionRecord): void {
    for (const r of record.rules) {
      if (r.outcome === 'condition_false' || r.outcome === 'outside_schedule') continue;
      const t = this.tally(r.ruleId, variantLabel(r.variant));
      t.triggers += 1;
      if (r.outcome === 'offered') {
        t.offers += 1;
        t.players.add(playerId);
      } else if (r.outcome === 'shadow') {
        t.shadowOffers += 1;
        t.players.add(playerId);
      } else if (!NOT_BLOCKS.has(r.outcome)) {
        t.blocked.set(r.outcome, (t.blocked.get(r.outcome) ?? 0) + 1);
      }
      const computed = r.shaped?.find((v) => v.field === 'price.amount');
      if (computed && typeof computed.value === 'number') {
        t.computedPrices += 1;
        t.computedAmount += computed.value;
      }
    }
  }

  rows(liveRates: ReadonlyMap<string, LiveRate>): RuleVariantReport[] {
    const out: RuleVariantReport[] = [];
    for (const rule of this.bundle.rules.filter((r) => r.enabled).sort((a, b) => a.id.localeCompare(b.id))) {
      for (const variant of armLabels(rule)) {
        const key = rowKey(rule.id, variant);
        const t = this.tallies.get(key) ?? emptyTally();
        const fixed = armPrice(rule, variant);
        const live = liveRates.get(key);
        const purchaseRate = live && live.offered > 0 ? live.purchased / live.offered : null;
        const made = rule.mode === 'shadow' ? t.shadowOffers : t.offers;
        const amount = t.computedAmount + (made - t.computedPrices) * fixed.amount;
        const price = t.computedPrices > 0 && made > 0 ? { amount: Math.round(amount / made), currency: fixed.currency } : fixed;
        out.push({
          ruleId: rule.id,
          variant,
          mode: rule.mode,
          triggers: t.triggers,
          offers: t.offers,
          shadowOffers: t.shadowOffers,
          uniquePlayers: t.players.size,
          blocked: Object.fromEntries([...t.blocked].sort(([a], [b]) => a.localeCompare(b))),
          price,
          purchaseRate,
          projectedRevenue: purchaseRate === null ? null : Math.round(amount * purchaseRate),
        });
      }
    }
    return out;
  }

  private tally(ruleId: string, variant: string): Tally {
    const key = rowKey(ruleId, variant);
    let t = this.tallies.get(key);
    if (!t) {
      t = emptyTally();
      this.tallies.set(key, t);
    }
    return t;
  }
}

export function rowKey(ruleId: string, variant: string): string {
  return `${ruleId}\u0000${variant}`;
}

function emptyTally(): Tally {
  return { triggers: 0, offers: 0, shadowOffers: 0, players: new Set(), blocked: new Map(), computedPrices: 0, computedAmount: 0 };
}

/** Stats labels of a rule's arms: its variant names, or `default`. */
export function armLabels(rule: Pick<Rule, 'experiment'>): string[] {
  const variants = rule.experiment?.variants ?? [];
  return variants.length > 0 ? variants.map((v) => v.name) : [variantLabel(null)];
}

function armPrice(rule: Rule, variant: string): { amount: number; currency: string } {
  const arm = rule.experiment?.variants.find((v) => v.name === variant);
  const p = arm?.offer.price ?? rule.offer.price;
  return { amount: p.amount, currency: p.currency };
}
