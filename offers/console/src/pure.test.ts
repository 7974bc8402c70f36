import { describe, expect, it } from 'vitest';
import { barLayout } from './chart.ts';
import { funnelRows, groupByRule, HOLDOUT_VARIANT } from './funnel.ts';
import { ruleSummaries, summarize } from './summary.ts';
import { toAuditRows, toSegmentRows, toStatRows, type StatRow } from './shapes.ts';

const row = (ruleId: string, variant: string, over: Partial<StatRow> = {}): StatRow => ({
  ruleId,
  variant,
  triggered: 0,
  offered: 0,
  shadow_offered: 0,
  delivered: 0,
  shown: 0,
  accepted: 0,
  purchased: 0,
  revenue: 0,
  exposed: 0,
  spend: 0,
  spendPerExposed: null,
  lift: null,
  liftLow: null,
  liftHigh: null,
  bandit: null,
  ...over,
});

describe('barLayout', () => {
  it('scales bars to the largest value and stacks one group per label', () => {
    const l = barLayout(['a', 'b'], [{ name: 'x', color: '#000', values: [10, 5] }, { name: 'y', color: '#111', values: [0, 20] }], 470, 200);
    expect(l.bars).toHaveLength(4);
    expect(l.bars.map((b) => b.width)).toEqual([100, 0, 50, 200]);
    expect(l.bars.every((b, i, all) => i === 0 || b.y > (all[i - 1]?.y ?? -1))).toBe(true);
    expect(l.groups.map((g) => g.label)).toEqual(['a', 'b']);
  });

  it('draws nothing wider than the plot for empty or non-finite data', () => {
    const l = barLayout(['a'], [{ name: 'x', color: '#000', values: [Number.NaN] }]);
    expect(l.bars[0]?.width).toBe(0);
  });
});

describe('funnelRows', () => {
  it('computes conversion, none for the holdout group, and keeps the lift the API computed', () => {
    const rows = funnelRows([
      row('r', 'a', { triggered: 100, offered: 50, purchased: 5, revenue: 1000, lift: 0.25 }),
      row('r', HOLDOUT_VARIANT, { exposed: 5, spend: 400, offered: 3, purchased: 1 }),
      row('s', 'default', { triggered: 10, offered: 0 }),
    ]);
    expect(rows[0]).toMatchObject({ conversion: 0.1, lift: 0.25 });
    expect(rows[1]).toMatchObject({ conversion: null, lift: null });
    expect(rows[2]).toMatchObject({ conversion: null, lift: null });
  });

  it('groups by rule in the given order, unknown rules last', () => {
    const g = groupByRule([row('z', 'a'), row('b', 'a'), row('b', 'c')], ['b', 'a']);
    expect([...g.keys()]).toEqual(['b', 'a', 'z']);
    expect(g.get('b')).toHaveLength(2);
  });
});

describe('rule summaries', () => {
  it('reads the headline fields of a rule file and skips the special files', () => {
    const text = "id: comeback\ndescription: 'Losing streak'\nenabled: false\nmode: shadow   # try it first\npriority: 90\ntrigger:\n  event: match.end\n";
    expect(summarize('comeback.yaml', text)).toEqual({ file: 'comeback.yaml', id: 'comeback', description: 'Losing streak', mode: 'shadow', enabled: false, priority: 90 });
    expect(ruleSummaries({ 'events.yaml': 'events: {}', 'policy.yaml': '', 'b.yaml': 'id: b', 'notes.txt': 'x' }).map((r) => r.id)).toEqual(['b']);
  });
});

describe('audit rows', () => {
  it('says what changed in words, a mode change by rule, and skips what is not an entry', () => {
    const summary = { rulesAdded: ['a'], rulesRemoved: [], rulesChanged: ['b', 'c'], propertiesAdded: [], propertiesRemoved: [], propertiesChanged: [], eventsAdded: [], eventsRemoved: [], eventsChanged: [], policyChanged: true };
    const rows = toAuditRows({
      entries: [
        { id: '2-0', at: 2, who: 'pia', role: 'publisher', via: 'api', action: 'mode', from: 1, to: 2, restored: null, message: null, summary, modes: [{ rule: 'b', from: 'live', to: 'shadow' }] },
        { id: '1-0', at: 1, who: 'pia', role: 'publisher', via: 'api', action: 'publish', from: 1, to: 2, restored: null, message: 'why', summary, modes: [] },
        { id: '0-0', who: 'x', action: 'publish', to: 1, summary: {} },
        { action: 'publish' },
        'nonsense',
      ],
    });
    expect(rows.map((r) => [r.action, r.changes])).toEqual([
      ['mode', 'b live → shadow'],
      ['publish', 'rules added: a; rules changed: b, c; policy changed'],
      ['publish', 'no rule, property or event changed'],
    ]);
    expect(rows[1]).toMatchObject({ who: 'pia', from: 1, to: 2, message: 'why' });
    expect(toAuditRows(null)).toEqual([]);
    expect(toAuditRows({ entries: 'x' })).toEqual([]);
  });
});

describe('toSegmentRows', () => {
  it('keeps named entries and fills what is missing', () => {
    const body = { day: '2026-12-04', segments: [{ name: 'whales', condition: 'player.revenue_30d >= 5000', active: true, maxOffersPerDay: 5, today: 12, description: 'big' }, { condition: 'x' }, { name: 'idle' }] };
    expect(toSegmentRows(body)).toEqual({
      day: '2026-12-04',
      rows: [
        { name: 'whales', description: 'big', condition: 'player.revenue_30d >= 5000', active: true, maxOffersPerDay: 5, today: 12 },
        { name: 'idle', description: '', condition: '', active: false, maxOffersPerDay: null, today: 0 },
      ],
    });
    expect(toSegmentRows(null)).toEqual({ day: '', rows: [] });
  });
});

describe('toStatRows', () => {
  it('reads a bandit arm’s share and posterior, and null for rows without a bandit', () => {
    const rows = toStatRows({
      rules: [
        { ruleId: 'r', variant: 'a', offered: 10, bandit: { objective: 'revenue', share: 0.9, warmingUp: false, mean: 12.5, low: 10, high: 15 } },
        { ruleId: 'r', variant: 'control', bandit: { objective: 'revenue', share: 0.1, warmingUp: false, mean: null, low: null, high: null } },
        { ruleId: 'plain', variant: 'default', bandit: null },
      ],
    });
    expect(rows.map((r) => r.bandit)).toEqual([
      { objective: 'revenue', share: 0.9, warmingUp: false, mean: 12.5, low: 10, high: 15 },
      { objective: 'revenue', share: 0.1, warmingUp: false, mean: null, low: null, high: null },
      null,
    ]);
  });
});
