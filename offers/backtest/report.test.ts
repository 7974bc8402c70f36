import { describe, expect, it } from 'vitest';
import type { Bundle, Rule } from '../../designer/types.ts';
import type { DecisionRecord, RuleDecision } from '../engine/explain.ts';
import { ReportBuilder, rowKey } from './report.ts';

function rule(id: string, over: Partial<Rule> = {}): Rule {
  return {
    id,
    file: `${id}.yaml`,
    description: '',
    enabled: true,
    mode: 'live',
    priority: 100,
    trigger: { event: 'match.end', when: null },
    offer: { sku: `sku.${id}`, title: null, price: { amount: 199, currency: 'USD' }, discountPct: null, ttlMs: 60_000, data: null },
    limits: { cooldownMs: null, maxPerPlayer: null, budget: null },
    experiment: null,
    followUp: null,
    ...over,
  };
}

const bundle = {
  version: 3,
  hash: 'h',
  rules: [
    rule('comeback', {
      experiment: {
        variants: [
          { name: 'control', weight: 10, holdout: true, offer: {} },
          { name: 'a', weight: 90, holdout: false, offer: { price: { amount: 299, currency: 'USD' } } },
        ],
      },
    }),
    rule('starter', { mode: 'shadow' }),
    rule('off', { enabled: false }),
  ],
} as unknown as Bundle;

function decision(ruleId: string, outcome: RuleDecision['outcome'], variant: string | null = null): RuleDecision {
  return { ruleId, mode: ruleId === 'starter' ? 'shadow' : 'live', priority: 100, variant, outcome, reason: outcome, values: {} };
}

function record(id: string, rules: RuleDecision[]): DecisionRecord {
  return { eventId: id, eventType: 'match.end', at: 0, bundleVersion: 3, offerId: null, rules };
}

describe('ReportBuilder', () => {
  it('counts triggers, offers, players and blocks like the live stats, per arm', () => {
    const b = new ReportBuilder(bundle);
    b.add('p1', record('e1', [decision('comeback', 'offered', 'a'), decision('starter', 'shadow')]));
    b.add('p1', record('e2', [decision('comeback', 'cooldown', 'a'), decision('starter', 'shadow')]));
    b.add('p2', record('e3', [decision('comeback', 'offered', 'a'), decision('starter', 'condition_false')]));
    b.add('p3', record('e4', [decision('comeback', 'control_arm', 'control'), decision('starter', 'fatigue_daily_cap')]));
    b.add('p4', record('e5', [decision('comeback', 'condition_false', 'a')]));

    const rates = new Map([[rowKey('comeback', 'a'), { offered: 100, purchased: 25 }]]);
    const rows = b.rows(rates);
    expect(rows.map((r) => `${r.ruleId}/${r.variant}`)).toEqual(['comeback/control', 'comeback/a', 'starter/default']);
    const [control, a, starter] = rows;
    expect(control).toMatchObject({ triggers: 1, offers: 0, uniquePlayers: 0, blocked: { control_arm: 1 }, purchaseRate: null, projectedRevenue: null });
    expect(a).toMatchObject({ triggers: 3, offers: 2, uniquePlayers: 2, blocked: { cooldown: 1 }, price: { amount: 299, currency: 'USD' }, purchaseRate: 0.25 });
    expect(a?.projectedRevenue).toBe(Math.round(2 * 299 * 0.25));
    expect(starter).toMatchObject({ mode: 'shadow', triggers: 3, offers: 0, shadowOffers: 2, uniquePlayers: 1, blocked: { fatigue_daily_cap: 1 } });
  });

  it('is independent of the order players arrive in', () => {
    const recs: Array<[string, DecisionRecord]> = [
      ['p1', record('e1', [decision('comeback', 'offered', 'a')])],
      ['p2', record('e2', [decision('comeback', 'budget_exhausted', 'a')])],
      ['p3', record('e3', [decision('comeback', 'holdout', 'a')])],
    ];
    const x = new ReportBuilder(bundle);
    const y = new ReportBuilder(bundle);
    for (const [p, r] of recs) x.add(p, r);
    for (const [p, r] of [...recs].reverse()) y.add(p, r);
    expect(JSON.stringify(x.rows(new Map()))).toBe(JSON.stringify(y.rows(new Map())));
  });

  it('prices offers computed per player by what each offer carried: the mean price, and revenue from the sum', () => {
    const b = new ReportBuilder({ ...bundle, rules: [rule('whale')] } as unknown as Bundle);
    const priced = (amount: number): RuleDecision => ({ ...decision('whale', 'offered'), shaped: [{ field: 'price.amount', outcome: 'computed', value: amount, computed: amount, inputs: {} }] });
    b.add('p1', record('e1', [priced(1000)]));
    b.add('p2', record('e2', [priced(2000)]));
    b.add('p3', record('e3', [priced(1500)]));
    const [row] = b.rows(new Map([[rowKey('whale', 'default'), { offered: 10, purchased: 5 }]]));
    expect(row?.price).toEqual({ amount: 1500, currency: 'USD' });
    expect(row?.projectedRevenue).toBe(2250);
  });
});

