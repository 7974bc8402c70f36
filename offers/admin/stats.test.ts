import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRng } from '../../load/scenarios/events.ts';
import { STAT_COUNTERS, liftInterval, withLift, type StatRow } from './stats.ts';

const row = (ruleId: string, variant: string, exposed: number, spendByCurrency: Record<string, number>): StatRow => ({
  ruleId,
  variant,
  mode: 'live',
  published: true,
  ...(Object.fromEntries(STAT_COUNTERS.map((c) => [c, 0])) as Record<(typeof STAT_COUNTERS)[number], number>),
  exposed,
  revenue: 0,
  currency: 'USD',
  revenueByCurrency: {},
  spend: 0,
  spendCurrency: null,
  spendByCurrency,
  spendPerExposed: null,
  spendSq: 0,
  spendSqByCurrency: {},
  lift: null,
  liftLow: null,
  liftHigh: null,
  bandit: null,
});

describe('withLift', () => {
  it('compares spend per exposed player with the holdout, per rule, in its main spend currency', () => {
    const rows = withLift([
      row('r', 'a', 10, { USD: 3000, EUR: 100 }),
      row('r', 'b', 4, { USD: 400 }),
      row('r', '(holdout)', 5, { USD: 1000 }),
      row('s', 'default', 3, { EUR: 90 }),
      row('s', '(holdout)', 3, { EUR: 60 }),
    ]);
    expect(rows.map((r) => [r.variant, r.spendCurrency, r.spend, r.spendPerExposed])).toEqual([
      ['a', 'USD', 3000, 300],
      ['b', 'USD', 400, 100],
      ['(holdout)', 'USD', 1000, 200],
      ['default', 'EUR', 90, 30],
      ['(holdout)', 'EUR', 60, 20],
    ]);
    expect(rows.map((r) => r.lift)).toEqual([0.5, -0.5, null, 0.5, null]);
  });

  it('has no lift without a baseline: no holdout row, no holdout exposures, or a holdout that spent nothing', () => {
    expect(withLift([row('r', 'a', 10, { USD: 100 })])[0]?.lift).toBeNull();
    expect(withLift([row('r', 'a', 10, { USD: 100 }), row('r', '(holdout)', 0, {})])[0]?.lift).toBeNull();
    expect(withLift([row('r', 'a', 10, { USD: 100 }), row('r', '(holdout)', 7, {})])[0]?.lift).toBeNull();
    expect(withLift([row('r', 'a', 0, {}), row('r', '(holdout)', 7, { USD: 70 })])[0]).toMatchObject({ spendPerExposed: null, lift: null });
  });

  it('reads a variant that exposed players who spent nothing as -100%', () => {
    expect(withLift([row('r', 'a', 10, {}), row('r', '(holdout)', 5, { USD: 50 })])[0]?.lift).toBe(-1);
  });
});

/** The interval computed the long way, from every window's spend (two-pass variance). */
function intervalFromWindows(variant: number[], base: number[]): { lift: number; low: number; high: number } {
  const stats = (xs: number[]) => {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
    return { mean, se2: variance / xs.length };
  };
  const a = stats(variant);
  const b = stats(base);
  const se = Math.sqrt(a.se2 / b.mean ** 2 + (a.mean ** 2 * b.se2) / b.mean ** 4);
  return { lift: a.mean / b.mean - 1, low: Math.max(-1, a.mean / b.mean - 1 - 1.959964 * se), high: a.mean / b.mean - 1 + 1.959964 * se };
}

const summary = (xs: number[]) => ({ n: xs.length, sum: xs.reduce((a, b) => a + b, 0), sumSq: xs.reduce((a, b) => a + b * b, 0) });

describe('liftInterval', () => {
  it('from counts, sums and sums of squares equals the interval computed from every window', () => {
    const spends = fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 2, maxLength: 60 });
    fc.assert(
      fc.property(spends, spends, (variant, base) => {
        fc.pre(base.some((x) => x > 0));
        const got = liftInterval(summary(variant), summary(base));
        const want = intervalFromWindows(variant, base);
        expect(got).not.toBeNull();
        for (const k of ['lift', 'low', 'high'] as const) expect(got?.[k]).toBeCloseTo(want[k], 6);
      }),
    );
  });

  it('covers the true lift about 95% of the time on simulated spend', () => {
    // Most exposed players spend nothing; spenders spend an exponential amount. True lift: the
    // variant converts 12% instead of 10% at the same basket, so mean spend is 1.2× — lift 0.2.
    const rng = createRng(20261126);
    const windows = (n: number, conversion: number, basket: number) =>
      Array.from({ length: n }, () => (rng() < conversion ? Math.round(-Math.log(1 - rng()) * basket) : 0));
    const trials = 400;
    let covered = 0;
    let width = 0;
    for (let t = 0; t < trials; t++) {
      const ci = liftInterval(summary(windows(2_000, 0.12, 500)), summary(windows(2_000, 0.1, 500)));
      if (!ci) continue;
      if (ci.low <= 0.2 && 0.2 <= ci.high) covered += 1;
      width += ci.high - ci.low;
    }
    expect(covered / trials).toBeGreaterThan(0.92);
    expect(covered / trials).toBeLessThan(0.98);
    // 2,000 players a side measure a 20% lift only roughly: the interval is wide.
    expect(width / trials).toBeGreaterThan(0.2);
  });

  it('never goes below -100%: spend is not negative', () => {
    const ci = liftInterval(summary([0, 0, 0, 900]), summary([10, 0, 0, 0, 5_000]));
    expect(ci?.low).toBe(-1);
    expect(ci?.high).toBeGreaterThan(ci?.lift ?? Infinity);
  });

  it('needs two windows on each side and a baseline that spent something', () => {
    expect(liftInterval({ n: 1, sum: 5, sumSq: 25 }, summary([1, 2, 3]))).toBeNull();
    expect(liftInterval(summary([1, 2, 3]), { n: 1, sum: 5, sumSq: 25 })).toBeNull();
    expect(liftInterval(summary([1, 2, 3]), summary([0, 0, 0]))).toBeNull();
  });

  it('fills liftLow and liftHigh on the stats rows from the spendsq counters', () => {
    const v = [0, 0, 300, 0, 1200, 0, 0, 450];
    const h = [0, 100, 0, 0, 0, 600];
    const withSq = (r: StatRow, xs: number[]): StatRow => ({ ...r, spendSqByCurrency: { USD: summary(xs).sumSq } });
    const rows = withLift([withSq(row('r', 'a', v.length, { USD: summary(v).sum }), v), withSq(row('r', '(holdout)', h.length, { USD: summary(h).sum }), h)]);
    const want = intervalFromWindows(v, h);
    expect(rows[0]?.lift).toBeCloseTo(want.lift, 9);
    expect(rows[0]?.liftLow).toBeCloseTo(want.low, 9);
    expect(rows[0]?.liftHigh).toBeCloseTo(want.high, 9);
    expect(rows[1]).toMatchObject({ lift: null, liftLow: null, liftHigh: null });
  });
});
