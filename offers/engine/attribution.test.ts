import { describe, expect, it } from 'vitest';
import { compileBundle } from '../../designer/compile.ts';
import { sampleFiles } from '../../designer/testing/sample.ts';
import type { RevenueSpec } from '../../designer/types.ts';
import { considerRules } from './evaluate.ts';
import { exposures, HOLDOUT_GROUP, spendOf } from './attribution.ts';
import { inHoldout } from './hashing.ts';

const byField: RevenueSpec = { event: 'shop.purchase', amountField: 'amount', currency: { field: 'currency' }, windowMs: 1 };
const fixed: RevenueSpec = { ...byField, currency: { code: 'EUR' } };

describe('spendOf', () => {
  it('reads the amount and the currency of a revenue event', () => {
    expect(spendOf({ data: { amount: 499, currency: 'USD' } }, byField)).toEqual({ amount: 499, currency: 'USD' });
    expect(spendOf({ data: { amount: 0, currency: 'GBP' } }, byField)).toEqual({ amount: 0, currency: 'GBP' });
    expect(spendOf({ data: { amount: 499 } }, fixed)).toEqual({ amount: 499, currency: 'EUR' });
  });

  it('refuses what cannot be counted: no amount, a fraction, a negative, a huge number, a bad currency', () => {
    for (const data of [{}, { amount: 1.5, currency: 'USD' }, { amount: -1, currency: 'USD' }, { amount: 2 ** 60, currency: 'USD' }, { amount: '5', currency: 'USD' }, { amount: 5, currency: 'usd' }, { amount: 5 }]) {
      expect(spendOf({ data }, byField), JSON.stringify(data)).toBeNull();
    }
    expect(spendOf({}, fixed)).toBeNull();
  });
});

describe('exposures', () => {
  it('puts players of the global holdout in the holdout group, others in their variant; shadow rules and false conditions are left out', () => {
    const r = compileBundle(sampleFiles());
    if (!r.ok) throw new Error('sample does not compile');
    const rules = r.bundle.rules.filter((x) => x.trigger.event === 'match.end');
    const input = (id: string) => ({
      event: { id: 'e', type: 'match.end', ts: 0, data: { result: 'loss', mode: 'ranked' } },
      player: { id, loss_streak: 5, win_streak: 0, matches_played: 10, losses_10m: 3, level: 3, offers_today: 0 },
    });
    let held = 0;
    let free = 0;
    for (let i = 0; i < 200; i++) {
      const id = `p-${i}`;
      const considered = considerRules(rules, input(id) as never, id, r.bundle.policy, 0);
      const got = exposures(considered);
      const expected = considered.filter((c) => c.matched && c.rule.mode === 'live').map((c) => c.rule.id);
      expect(got.map((g) => g.ruleId)).toEqual(expected);
      for (const g of got) {
        const c = considered.find((x) => x.rule.id === g.ruleId);
        expect(g.group).toBe(inHoldout(id, r.bundle.policy.holdoutPercent) && !c?.variant?.holdout ? HOLDOUT_GROUP : (c?.variant?.name ?? 'default'));
        if (g.group === HOLDOUT_GROUP) held++;
        else free++;
      }
    }
    expect(held).toBeGreaterThan(0);
    expect(free).toBeGreaterThan(held);
  });
});
