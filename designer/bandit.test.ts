import { describe, expect, it } from 'vitest';
import { compileBundle } from './compile.ts';
import { BANDIT_MIN_SHARE, BANDIT_WARMUP } from './rule.ts';
import { diagnosticsOf, sampleFiles, sampleWith } from './testing/sample.ts';
import type { Diagnostic } from './types.ts';

/** The single diagnostic of the sample game with ranked-booster.yaml edited (fails the test when there are more or none). */
function only(edit: (t: string) => string): Diagnostic {
  const list = diagnosticsOf(compileBundle(sampleWith('ranked-booster.yaml', edit)));
  expect(list, JSON.stringify(list, null, 1)).toHaveLength(1);
  return list[0] as Diagnostic;
}

const FILE = 'ranked-booster.yaml';

describe('allocation: bandit', () => {
  it('compiles the sample rule with its settings, and fills in the defaults', () => {
    const r = compileBundle(sampleFiles());
    expect(r.ok).toBe(true);
    const rule = r.ok ? r.bundle.rules.find((x) => x.id === 'ranked-booster') : undefined;
    expect(rule?.experiment?.bandit).toEqual({ objective: 'revenue', minShare: 0.05, warmup: 200 });
    const bare = compileBundle(sampleWith(FILE, (t) => t.replace(/ {2}bandit:\n(?: {4}.*\n){3}/, '')));
    const plain = bare.ok ? bare.bundle.rules.find((x) => x.id === 'ranked-booster') : undefined;
    expect(plain?.experiment?.bandit).toEqual({ objective: 'purchase_rate', minShare: BANDIT_MIN_SHARE, warmup: BANDIT_WARMUP });
    const weights = compileBundle(sampleWith('level-milestone.yaml', (t) => t.replace('experiment:', 'experiment:\n  allocation: weights')));
    expect(weights.ok && weights.bundle.rules.find((x) => x.id === 'level-milestone')?.experiment?.bandit).toBeUndefined();
  });
});

describe('bandit validation errors, each with file, line, column and hint', () => {
  it('bandit settings without `allocation: bandit`', () => {
    const d = only((t) => t.replace(/ {2}allocation: bandit.*\n/, ''));
    expect(d).toMatchObject({ severity: 'error', code: 'RULE_SCHEMA', file: FILE, line: 17, column: 5, message: '`experiment.bandit` is set but `allocation` is not `bandit`' });
    expect(d.hint).toBe('add `allocation: bandit` to the experiment, or remove `bandit:`');
  });

  it('a bandit with fewer than two arms that are not holdouts', () => {
    const d = only((t) => t.replace(/ {4}- \{ name: price-199.*\n/, '').replace(/ {4}- \{ name: price-399.*\n/, ''));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', file: FILE, line: 16, message: 'a bandit needs at least 2 arms that are not holdouts; this experiment has 1' });
    expect(d.hint).toContain('add another variant');
  });

  it('a bandit arm of weight 0, which would never leave the warm-up', () => {
    const d = only((t) => t.replace('{ name: price-199, weight: 30', '{ name: price-199, weight: 0'));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', file: FILE, line: 24, message: 'bandit arm `price-199` has weight 0: it would never make its warm-up offers' });
    expect(d.hint).toBe('give it a weight above 0: the weights set the shares during warm-up');
  });

  it('minimum shares adding up to more than 1', () => {
    const d = only((t) => t.replace('minShare: 0.05', 'minShare: 0.4'));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', file: FILE, line: 19, column: 15, message: '`minShare` 0.4 for each of 3 arms adds up to more than 1', hint: 'make it at most 0.33' });
  });

  it('a revenue bandit with an arm priced in another currency', () => {
    const d = only((t) => t.replace('{ amount: 199, currency: USD }', '{ amount: 199, currency: EUR }'));
    expect(d).toMatchObject({ code: 'RULE_CONFLICT', file: FILE, line: 24 });
    expect(d.message).toBe('bandit arm `price-199` is priced in EUR but the offer in USD: revenue of arms in different currencies cannot be compared');
    expect(d.hint).toBe('price every arm in USD, or use `objective: purchase_rate`');
    const byRate = compileBundle(sampleWith(FILE, (t) => t.replace('{ amount: 199, currency: USD }', '{ amount: 199, currency: EUR }').replace('objective: revenue', 'objective: purchase_rate')));
    expect(byRate.ok).toBe(true);
  });

  it.each([
    ['minShare: 0.05', 'minShare: 0.6', 19, '`experiment.bandit.minShare` must be <= 0.5'],
    ['warmup: 200', 'warmup: -1', 20, '`experiment.bandit.warmup` must be >= 0'],
    ['objective: revenue', 'objective: profit', 18, '`experiment.bandit.objective` must be one of purchase_rate, revenue'],
    ['allocation: bandit', 'allocation: thompson', 16, '`experiment.allocation` must be one of weights, bandit'],
  ])('a schema error: %s → %s', (from, to, line, message) => {
    const d = only((t) => t.replace(from, to));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', file: FILE, line });
    expect(d.message).toContain(message);
  });
});
