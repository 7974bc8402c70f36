import type { Bandit, Rule } from '../../designer/types.ts';
import { unitInterval } from './hashing.ts';

/**
 * Thompson sampling over the arms of an `allocation: bandit` experiment. Pure: the counters
 * in, the shares out. The posterior of each arm comes from the rule's funnel counters:
 *
 * - `purchase_rate`: p ~ Beta(1 + purchased, 1 + offered − purchased).
 * - `revenue`: revenue per offer = p × m, with p as above and m the mean revenue of a
 *   purchase, shrunk towards the arm's price by one pseudo-purchase at that price:
 *   m = (revenue + price) / (purchased + 1). Only p is sampled; m is its point estimate.
 *
 * An arm's share is the probability that it is the best, estimated by Monte-Carlo with a
 * PRNG seeded from the rule id and the counters, so every process computes the same shares
 * from the same counters. Then each arm gets at least `minShare`, and holdout arms keep the
 * share of their weight outside the bandit. Until every arm has made `warmup` offers, the
 * shares are the weights.
 */

/** One arm's counters, as the rule's stats hash holds them (offers/admin/stats.ts). */
export interface ArmCounters {
  readonly offered: number;
  readonly purchased: number;
  /** Revenue in minor units, in the offer's currency. */
  readonly revenue: number;
}

/** An arm as the allocator sees it: its weight, whether it is a holdout, its price and counters. */
export interface ArmInput {
  readonly name: string;
  readonly weight: number;
  readonly holdout: boolean;
  readonly price: number;
  readonly counters: ArmCounters;
}

/** The posterior of one arm: mean and 95 % interval of the objective (a rate, or minor units per offer). */
export interface Posterior {
  readonly mean: number;
  readonly low: number;
  readonly high: number;
}

export interface ArmAllocation {
  readonly name: string;
  /** Probability that a player is assigned this arm (all arms add up to 1). */
  readonly share: number;
  /** Null for a holdout arm (outside the bandit). */
  readonly posterior: Posterior | null;
}

export interface Allocation {
  readonly arms: readonly ArmAllocation[];
  /** True while some arm has made fewer than `warmup` offers: the shares are the weights. */
  readonly warmingUp: boolean;
}

/** Monte-Carlo draws per allocation: the share of an arm is known to about ±1 %. */
export const BANDIT_DRAWS = 4000;

/**
 * A seeded PRNG (mulberry32): uniform in [0, 1). The same generator as load/scenarios/events.ts
 * `createRng`, which must stay free of imports outside its folder (it is bundled for k6).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rng: () => number): number {
  const u = 1 - rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Gamma(shape, 1) by Marsaglia and Tsang (shape < 1 boosted by U^(1/shape)). */
export function sampleGamma(shape: number, rng: () => number): number {
  if (shape < 1) return sampleGamma(shape + 1, rng) * Math.pow(1 - rng(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x = normal(rng);
    let v = 1 + c * x;
    while (v <= 0) {
      x = normal(rng);
      v = 1 + c * x;
    }
    v = v * v * v;
    const u = 1 - rng();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Beta(a, b) as X / (X + Y) of two Gamma draws. */
export function sampleBeta(a: number, b: number, rng: () => number): number {
  const x = sampleGamma(a, rng);
  return x / (x + sampleGamma(b, rng));
}

/** The Beta parameters of an arm's purchase rate. */
export function betaOf(c: ArmCounters): { a: number; b: number } {
  const offered = Math.max(0, c.offered);
  const purchased = Math.min(offered, Math.max(0, c.purchased));
  return { a: 1 + purchased, b: 1 + offered - purchased };
}

/** Mean revenue of a purchase, shrunk towards the price by one pseudo-purchase. */
export function revenuePerPurchase(arm: Pick<ArmInput, 'price' | 'counters'>): number {
  return (Math.max(0, arm.counters.revenue) + arm.price) / (Math.max(0, arm.counters.purchased) + 1);
}

/** Shares by weight, each arm's weight over the total. */
function byWeight(arms: readonly ArmInput[]): number[] {
  const total = arms.reduce((s, a) => s + Math.max(0, a.weight), 0);
  return arms.map((a) => (total > 0 ? Math.max(0, a.weight) / total : 1 / arms.length));
}

/**
 * Lifts every share to at least `minShare`, taking it from the others in proportion to
 * what they have above it (shares add up to 1; needs minShare × n ≤ 1).
 */
export function withMinShare(shares: readonly number[], minShare: number): number[] {
  const n = shares.length;
  if (n === 0 || minShare <= 0) return [...shares];
  const floor = Math.min(minShare, 1 / n);
  return shares.map((s) => floor + (1 - n * floor) * s);
}

function quantile(sorted: Float64Array, q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i] ?? 0;
}

/** A 32-bit seed from the rule id and the counters: same counters, same shares everywhere. */
export function allocationSeed(ruleId: string, arms: readonly ArmInput[]): number {
  const counters = arms.map((a) => `${a.name}:${a.counters.offered}:${a.counters.purchased}:${a.counters.revenue}`).join('|');
  return Math.floor(unitInterval(`bandit\u0000${ruleId}\u0000${counters}`) * 2 ** 32);
}

/**
 * The allocation of an experiment's arms (in their order). Holdout arms keep their weight's
 * share of all weights; the other arms share the rest: by weight during warm-up, else by
 * Thompson sampling with the floor `minShare` (of the bandit's part).
 */
export function allocate(arms: readonly ArmInput[], bandit: Bandit, rng: () => number, draws = BANDIT_DRAWS): Allocation {
  const weights = byWeight(arms);
  const banditIdx = arms.flatMap((a, i) => (a.holdout ? [] : [i]));
  const banditPart = banditIdx.reduce((s, i) => s + (weights[i] ?? 0), 0);
  const revenue = bandit.objective === 'revenue';
  const scale = banditIdx.map((i) => (revenue ? revenuePerPurchase(arms[i] as ArmInput) : 1));
  const betas = banditIdx.map((i) => betaOf((arms[i] as ArmInput).counters));
  const samples = banditIdx.map(() => new Float64Array(draws));
  const wins = banditIdx.map(() => 0);
  for (let d = 0; d < draws; d += 1) {
    let best = 0;
    let bestValue = -1;
    for (let k = 0; k < banditIdx.length; k += 1) {
      const beta = betas[k] as { a: number; b: number };
      const value = sampleBeta(beta.a, beta.b, rng) * (scale[k] ?? 1);
      (samples[k] as Float64Array)[d] = value;
      if (value > bestValue) {
        bestValue = value;
        best = k;
      }
    }
    wins[best] = (wins[best] ?? 0) + 1;
  }
  const warmingUp = banditIdx.some((i) => (arms[i] as ArmInput).counters.offered < bandit.warmup);
  const learned = withMinShare(
    wins.map((w) => w / Math.max(1, draws)),
    bandit.minShare,
  );
  const shares = [...weights];
  banditIdx.forEach((i, k) => {
    shares[i] = warmingUp ? (weights[i] ?? 0) : (learned[k] ?? 0) * banditPart;
  });
  return {
    warmingUp,
    arms: arms.map((a, i) => {
      const k = banditIdx.indexOf(i);
      if (k < 0) return { name: a.name, share: shares[i] ?? 0, posterior: null };
      const sorted = (samples[k] as Float64Array).sort();
      const beta = betas[k] as { a: number; b: number };
      const posterior = { mean: (beta.a / (beta.a + beta.b)) * (scale[k] ?? 1), low: quantile(sorted, 0.025), high: quantile(sorted, 0.975) };
      return { name: a.name, share: shares[i] ?? 0, posterior };
    }),
  };
}

/** The allocator's view of a bandit rule's arms, from the counters of each variant. */
export function armInputs(rule: Rule, counters: (variant: string) => ArmCounters): ArmInput[] {
  return (rule.experiment?.variants ?? []).map((v) => ({
    name: v.name,
    weight: v.weight,
    holdout: v.holdout,
    price: v.offer.price?.amount ?? rule.offer.price.amount,
    counters: counters(v.name),
  }));
}

/** The allocation of a bandit rule from its counters, seeded by them (the same in every process). */
export function allocateRule(rule: Rule, counters: (variant: string) => ArmCounters, draws = BANDIT_DRAWS): Allocation | null {
  const bandit = rule.experiment?.bandit;
  if (!bandit) return null;
  const arms = armInputs(rule, counters);
  return allocate(arms, bandit, seededRandom(allocationSeed(rule.id, arms)), draws);
}
