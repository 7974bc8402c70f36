import { describe, expect, it } from 'vitest';
import type { Bandit, Variant } from '../../designer/types.ts';
import { makeRule } from '../../test/fixtures/offers-engine.ts';
import { allocate, allocateRule, sampleBeta, seededRandom, withMinShare, type ArmCounters, type ArmInput } from './bandit.ts';
import { assignVariant } from './hashing.ts';

const BANDIT: Bandit = { objective: 'purchase_rate', minShare: 0.05, warmup: 100 };

const arm = (name: string, offered: number, purchased: number, extra: Partial<ArmInput> = {}): ArmInput => ({
  name,
  weight: 1,
  holdout: false,
  price: 199,
  counters: { offered, purchased, revenue: purchased * (extra.price ?? 199) },
  ...extra,
});

const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);

describe('Beta sampling', () => {
  it('is reproducible from its seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const draws = Array.from({ length: 5 }, () => [sampleBeta(2, 5, a), sampleBeta(2, 5, b)]);
    for (const [x, y] of draws) expect(x).toBe(y);
    expect(new Set(draws.map(([x]) => x)).size).toBe(5);
  });

  it.each([
    [3, 7],
    [1, 1],
    [0.5, 0.5],
    [51, 951],
  ])('Beta(%d, %d) has the right mean and variance', (a, b) => {
    const rng = seededRandom(7);
    const n = 40_000;
    const xs = Array.from({ length: n }, () => sampleBeta(a, b, rng));
    const mean = sum(xs) / n;
    const variance = sum(xs.map((x) => (x - mean) ** 2)) / (n - 1);
    const trueMean = a / (a + b);
    const trueVar = (a * b) / ((a + b) ** 2 * (a + b + 1));
    expect(Math.abs(mean - trueMean)).toBeLessThan(4 * Math.sqrt(trueVar / n));
    expect(variance / trueVar).toBeGreaterThan(0.95);
    expect(variance / trueVar).toBeLessThan(1.05);
    expect(xs.every((x) => x >= 0 && x <= 1)).toBe(true);
  });
});

describe('withMinShare', () => {
  it('lifts every arm to the floor and keeps the sum at 1', () => {
    const out = withMinShare([1, 0, 0], 0.05);
    expect(out[0]).toBeCloseTo(0.9);
    expect(out[1]).toBeCloseTo(0.05);
    expect(out[2]).toBeCloseTo(0.05);
    expect(sum(out)).toBeCloseTo(1);
  });

  it('leaves shares alone without a floor, and makes them uniform at the largest floor', () => {
    expect(withMinShare([0.7, 0.3], 0)).toEqual([0.7, 0.3]);
    const uniform = withMinShare([0.6, 0.3, 0.1, 0], 0.25);
    for (const s of uniform) expect(s).toBeCloseTo(0.25);
  });
});

describe('allocate', () => {
  it('keeps the weights during warm-up: until every arm has made `warmup` offers', () => {
    const arms = [arm('a', 500, 50, { weight: 3 }), arm('b', 99, 0, { weight: 1 })];
    const out = allocate(arms, BANDIT, seededRandom(1));
    expect(out.warmingUp).toBe(true);
    expect(out.arms.map((a) => a.share)).toEqual([0.75, 0.25]);
    const after = allocate([arms[0] as ArmInput, arm('b', 100, 0, { weight: 1 })], BANDIT, seededRandom(1));
    expect(after.warmingUp).toBe(false);
    expect(after.arms[0]?.share).toBeGreaterThan(0.9);
  });

  it('gives the clearly better arm all but the other arms’ minimum share', () => {
    const out = allocate([arm('a', 5000, 100), arm('b', 5000, 250), arm('c', 5000, 150)], BANDIT, seededRandom(3));
    expect(out.arms.map((a) => a.name)).toEqual(['a', 'b', 'c']);
    expect(out.arms[0]?.share).toBeCloseTo(0.05, 5);
    expect(out.arms[1]?.share).toBeCloseTo(0.9, 5);
    expect(out.arms[2]?.share).toBeCloseTo(0.05, 5);
  });

  it('splits evenly between arms it cannot tell apart', () => {
    const out = allocate([arm('a', 1000, 30), arm('b', 1000, 30)], BANDIT, seededRandom(5));
    expect(out.arms[0]?.share).toBeGreaterThan(0.45);
    expect(out.arms[0]?.share).toBeLessThan(0.55);
  });

  it('keeps holdout arms outside: their weight’s share of all weights, never a posterior', () => {
    const control = arm('control', 0, 0, { weight: 10, holdout: true });
    const out = allocate([control, arm('a', 2000, 20, { weight: 45 }), arm('b', 2000, 100, { weight: 45 })], BANDIT, seededRandom(9));
    expect(out.arms[0]).toEqual({ name: 'control', share: 0.1, posterior: null });
    expect(sum(out.arms.map((a) => a.share))).toBeCloseTo(1);
    expect(out.arms[2]?.share).toBeCloseTo(0.9 * 0.95, 5);
    expect(out.arms[1]?.share).toBeCloseTo(0.9 * 0.05, 5);
  });

  it('gives each arm the posterior mean and a 95 % interval that narrows with data', () => {
    const few = allocate([arm('a', 100, 5), arm('b', 100, 5)], BANDIT, seededRandom(11)).arms[0]?.posterior;
    const many = allocate([arm('a', 10_000, 500), arm('b', 10_000, 500)], BANDIT, seededRandom(11)).arms[0]?.posterior;
    expect(few?.mean).toBeCloseTo(6 / 102, 6);
    expect(many?.mean).toBeCloseTo(501 / 10_002, 6);
    for (const p of [few, many]) {
      expect(p?.low).toBeLessThan(p?.mean ?? 0);
      expect(p?.high).toBeGreaterThan(p?.mean ?? 1);
    }
    expect((many?.high ?? 0) - (many?.low ?? 0)).toBeLessThan(((few?.high ?? 0) - (few?.low ?? 0)) / 5);
    expect(many?.low).toBeGreaterThan(0.045);
    expect(many?.high).toBeLessThan(0.055);
  });

  it('with objective revenue, prefers the arm that earns more per offer, not the one that converts more', () => {
    const revenue: Bandit = { ...BANDIT, objective: 'revenue' };
    const cheap = arm('cheap', 5000, 250, { price: 99 });
    const dear = arm('dear', 5000, 150, { price: 499 });
    const byRevenue = allocate([cheap, dear], revenue, seededRandom(13));
    const byRate = allocate([cheap, dear], BANDIT, seededRandom(13));
    expect(byRevenue.arms[1]?.share).toBeCloseTo(0.95, 5);
    expect(byRate.arms[0]?.share).toBeCloseTo(0.95, 5);
    // Revenue per offer: (150 × 499 + 499) / 151 per purchase × 151 / 5002 purchases per offer.
    expect(byRevenue.arms[1]?.posterior?.mean).toBeCloseTo(((150 * 499 + 499) / 151) * (151 / 5002), 6);
  });
});

describe('allocateRule', () => {
  const variants: Variant[] = [
    { name: 'a', weight: 50, holdout: false, offer: {} },
    { name: 'b', weight: 50, holdout: false, offer: { price: { amount: 299, currency: 'USD' } } },
  ];
  const rule = { ...makeRule({ id: 'bandit-r', variants }), experiment: { variants, bandit: BANDIT } };
  const counters = (c: Record<string, ArmCounters>) => (v: string) => c[v] ?? { offered: 0, purchased: 0, revenue: 0 };

  it('gives every process the same shares from the same counters', () => {
    const c = counters({ a: { offered: 300, purchased: 9, revenue: 9 * 199 }, b: { offered: 300, purchased: 12, revenue: 12 * 299 } });
    const first = allocateRule(rule, c);
    expect(allocateRule(rule, c)).toEqual(first);
    expect(first?.arms[1]?.share).toBeGreaterThan(0.5);
  });

  it('is null for a rule without a bandit', () => {
    expect(allocateRule(makeRule({ id: 'plain', variants }), counters({}))).toBeNull();
  });
});

describe('assignVariant with bandit shares', () => {
  const variants: Variant[] = ['a', 'b', 'c'].map((name) => ({ name, weight: 1, holdout: false, offer: {} }));
  const rule = makeRule({ id: 'sticky', variants });
  const players = Array.from({ length: 4000 }, (_, i) => `p${i}`);

  it('follows the shares instead of the weights', () => {
    const counts = new Map<string, number>();
    for (const p of players) {
      const v = assignVariant(p, rule, [0.1, 0.8, 0.1])?.name ?? '';
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect((counts.get('b') ?? 0) / players.length).toBeGreaterThan(0.77);
    expect((counts.get('b') ?? 0) / players.length).toBeLessThan(0.83);
    for (const p of players.slice(0, 50)) expect(assignVariant(p, rule, [0, 0, 1])?.name).toBe('c');
  });

  it('keeps the players of a bandit’s holdout arm in it, wherever it is declared and however the other shares move', () => {
    const arms: Variant[] = [
      { name: 'a', weight: 45, holdout: false, offer: {} },
      { name: 'control', weight: 10, holdout: true, offer: {} },
      { name: 'b', weight: 45, holdout: false, offer: {} },
    ];
    const bandit = { ...makeRule({ id: 'held', variants: arms }), experiment: { variants: arms, bandit: BANDIT } };
    const inControl = (shares?: number[]) => players.filter((p) => assignVariant(p, bandit, shares)?.holdout).join(',');
    const before = inControl();
    expect(before.split(',').length / players.length).toBeGreaterThan(0.08);
    expect(before.split(',').length / players.length).toBeLessThan(0.12);
    expect(inControl([0.45, 0.1, 0.45])).toBe(before);
    expect(inControl([0.855, 0.1, 0.045])).toBe(before);
    expect(inControl([0.045, 0.1, 0.855])).toBe(before);
    // Laid out in declaration order, the control arm would move with a's share.
    const fixed = makeRule({ id: 'held', variants: arms });
    const movedOrder = (shares: number[]) => players.filter((p) => assignVariant(p, fixed, shares)?.holdout).join(',');
    expect(movedOrder([0.855, 0.1, 0.045])).not.toBe(movedOrder([0.45, 0.1, 0.45]));
  });

  it('keeps a player on their arm while the shares hold, and moves few when they shift a little', () => {
    for (const p of players.slice(0, 100)) expect(assignVariant(p, rule, [0.2, 0.5, 0.3])).toBe(assignVariant(p, rule, [0.2, 0.5, 0.3]));
    const moved = players.filter((p) => assignVariant(p, rule, [0.2, 0.5, 0.3]) !== assignVariant(p, rule, [0.18, 0.52, 0.3])).length;
    expect(moved / players.length).toBeLessThan(0.04);
    expect(moved).toBeGreaterThan(0);
  });
});
