import { describe, expect, it } from 'vitest';
import { formatReport, progressBar } from './format.ts';
import type { BacktestReport, RuleVariantReport } from './report.ts';

const r = (ruleId: string, over: Partial<RuleVariantReport> = {}): RuleVariantReport => ({
  ruleId,
  variant: 'default',
  mode: 'live',
  triggers: 10,
  offers: 4,
  shadowOffers: 0,
  uniquePlayers: 3,
  blocked: { cooldown: 6 },
  price: { amount: 199, currency: 'USD' },
  purchaseRate: 0.5,
  projectedRevenue: 398,
  ...over,
});

describe('formatReport', () => {
  it('prints draft and published side by side, shadow offers marked, unknown revenue spelled out', () => {
    const report: BacktestReport = {
      window: { from: Date.parse('2026-11-25T00:00:00Z'), to: Date.parse('2026-11-25T01:00:00Z'), events: 1234 },
      draft: { version: 0, hash: 'd', rows: [r('comeback'), r('skin', { mode: 'shadow', offers: 0, shadowOffers: 2, purchaseRate: null, projectedRevenue: null, blocked: {} })] },
      published: { version: 7, hash: 'p', rows: [r('comeback', { offers: 5 })] },
      elapsedMs: 2_500,
    };
    const text = formatReport(report);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^rule \/ variant\s+bundle\s+triggers\s+offers\s+players\s+revenue\?\s+blocked$/);
    expect(lines[1]).toMatch(/^comeback \/ default\s+draft\s+10\s+4\s+3\s+3\.98 USD\s+cooldown 6$/);
    expect(lines[2]).toMatch(/^comeback \/ default\s+v7\s+10\s+5\s+3/);
    expect(lines[3]).toMatch(/^skin \/ default\s+draft\s+10\s+2 \(shadow\)\s+3\s+unknown\s+-$/);
    expect(lines[4]).toMatch(/skin \/ default\s+v7.*not in this bundle/);
    expect(text).toContain('1234 events, 2.5 s');
    expect(text).toContain('published v7: 5 offers, 0 shadow offers');
  });
});

describe('progressBar', () => {
  it('fills in proportion and clamps', () => {
    expect(progressBar(50, 'x', 10)).toBe('[#####.....]  50%  x');
    expect(progressBar(150, 'x', 4)).toBe('[####] 100%  x');
    expect(progressBar(-3, 'x', 4)).toBe('[....]   0%  x');
  });
});
