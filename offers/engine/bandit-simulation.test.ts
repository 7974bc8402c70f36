import { describe, expect, it } from 'vitest';
import type { Variant } from '../../designer/types.ts';
import { makeRule } from '../../test/fixtures/offers-engine.ts';
import { allocateRule, seededRandom, type ArmCounters } from './bandit.ts';
import { assignVariant } from './hashing.ts';

/**
 * A bandit against simulated players with known purchase rates, as the engine runs it: each
 * offer goes to a new player, whose arm comes from their id and the current shares
 * (assignVariant); the shares are recomputed from the counters every REFRESH offers
 * (allocateRule, as bandit-cache.ts does on each refresh). Purchases are drawn from a seeded
 * PRNG, so every run is the same.
 *
 * Figure (rates 2 %, 3 %, 5 %, warm-up 100 offers per arm, minShare 0.05, shares recomputed
 * every 250 offers, 12,000 offers): over these 10 seeds the best arm's share first passes
 * 70 % after 500 to 1,750 offers (500 in 6 seeds), may dip once more while the posteriors
 * are wide, and is above 70 % for good after at most 2,500 offers; at the end it is about
 * 0.9 (the two others held at their 0.05 minimum).
 */
const RATES = { low: 0.02, mid: 0.03, best: 0.05 } as const;
const REFRESH = 250;
const OFFERS = 12_000;
const WITHIN = 2_000;
const SETTLED = 3_000;

const variants: Variant[] = Object.keys(RATES).map((name) => ({ name, weight: 1, holdout: false, offer: {} }));
const rule = { ...makeRule({ id: 'sim', variants }), experiment: { variants, bandit: { objective: 'purchase_rate' as const, minShare: 0.05, warmup: 100 } } };

function simulate(seed: number): { passedAt: number | null; bestShares: number[] } {
  const rng = seededRandom(seed);
  const counters = new Map<string, { offered: number; purchased: number; revenue: number }>(variants.map((v) => [v.name, { offered: 0, purchased: 0, revenue: 0 }]));
  let shares: readonly number[] = variants.map(() => 1 / variants.length);
  let passedAt: number | null = null;
  const bestShares: number[] = [];
  for (let n = 0; n < OFFERS; n += 1) {
    if (n % REFRESH === 0) {
      const allocation = allocateRule(rule, (v) => counters.get(v) as ArmCounters);
      shares = allocation?.arms.map((a) => a.share) ?? shares;
      const best = shares[2] ?? 0;
      bestShares.push(best);
      if (passedAt === null && best > 0.7) passedAt = n;
    }
    const arm = assignVariant(`sim-${seed}-${n}`, rule, shares)?.name ?? '';
    const c = counters.get(arm);
    if (!c) throw new Error(`no arm ${arm}`);
    c.offered += 1;
    if (rng() < RATES[arm as keyof typeof RATES]) {
      c.purchased += 1;
      c.revenue += 199;
    }
  }
  return { passedAt, bestShares };
}

describe('bandit simulation: arms converting at 2, 3 and 5 percent', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])(`seed %d: the best arm passes 70 percent of the offers within ${WITHIN} offers, and holds it after ${SETTLED}`, (seed) => {
    const { passedAt, bestShares } = simulate(seed);
    expect(passedAt).not.toBeNull();
    expect(passedAt ?? Infinity).toBeLessThanOrEqual(WITHIN);
    expect(Math.min(...bestShares.slice(SETTLED / REFRESH))).toBeGreaterThan(0.7);
    // In the end the worse arms are held near their minimum share: 0.05 each.
    expect(bestShares[bestShares.length - 1]).toBeGreaterThan(0.85);
  });
});
