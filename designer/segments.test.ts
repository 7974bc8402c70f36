import { describe, expect, it } from 'vitest';
import { compileBundle } from './compile.ts';
import { dailyCapFor } from './segments.ts';
import { diagnosticsOf, sampleBundle, sampleFiles, sampleWith } from './testing/sample.ts';
import type { ConditionInput, Diagnostic } from './types.ts';

/** The single diagnostic of a result (fails the test when there are more or none). */
function only(files: Record<string, string>): Diagnostic {
  const list = diagnosticsOf(compileBundle(files));
  expect(list, JSON.stringify(list, null, 1)).toHaveLength(1);
  return list[0] as Diagnostic;
}

/** The sample with segments.yaml replaced by `body` (its entries, indented under `segments:`). */
const withSegments = (body: string): Record<string, string> => ({ ...sampleFiles(), 'segments.yaml': `segments:\n${body}` });

const input = (player: Record<string, unknown>): ConditionInput => ({ event: { type: 'currency.spend', id: 'e', ts: 0, data: { coins: 150 } }, player });

describe('segments.yaml', () => {
  it('compiles the sample: both forms, active only where rules or policy name them', () => {
    const b = sampleBundle();
    expect(b.segments.all.map((s) => [s.name, s.condition.source, s.description])).toEqual([
      ['whales', 'player.revenue_30d >= 5000', 'Spent 50 USD or more in the last 30 days'],
      ['newcomers', 'player.events_total < 20', ''],
    ]);
    expect([...b.segments.active].sort()).toEqual(['newcomers', 'whales']);
    expect(b.policy.segmentCaps).toEqual(new Map([['whales', 5]]));
    expect(b.segments.evaluate(input({ revenue_30d: 9000, events_total: 3 }))).toEqual({ whales: true, newcomers: true });
    // An absent property makes its segment false, never an error.
    expect(b.segments.evaluate(input({ events_total: 300 }))).toEqual({ whales: false, newcomers: false });
  });

  it('evaluates a segment once per input and lets rules read it', () => {
    const b = sampleBundle();
    const rule = b.rules.find((r) => r.id === 'newcomer-coins');
    const i = input({ events_total: 3 });
    expect(rule?.trigger.when?.reads).toEqual(['event.data.coins', 'segment.newcomers']);
    expect(rule?.trigger.when?.evaluate(i)).toEqual({ value: true });
    expect(b.segments.evaluate(i)).toBe(b.segments.evaluate(i));
    expect(rule?.trigger.when?.evaluate(input({ events_total: 30 }))).toEqual({ value: false });
  });

  it('a wrong type in a segment, at its column', () => {
    const d = only(withSegments(`  whales: 'player.revenue_30d >= "5000"'\n  newcomers: 'player.events_total < 20'\n`));
    expect(d).toMatchObject({ code: 'RULE_TYPE_ERROR', file: 'segments.yaml', line: 2, column: 12, message: 'type mismatch: no operator for int >= string' });
  });

  it('an unknown property, with "did you mean"', () => {
    const d = only(withSegments(`  whales: { when: 'player.revenue_31d >= 5000' }\n  newcomers: 'player.events_total < 20'\n`));
    expect(d).toMatchObject({ code: 'RULE_REFERENCE', file: 'segments.yaml', line: 2, column: 27, message: '`player` has no field `revenue_31d`; it is not declared in properties.yaml', hint: 'did you mean `revenue_30d`?' });
  });

  it('a condition that is not a bool', () => {
    const d = only(withSegments(`  whales: 'player.revenue_30d'\n  newcomers: 'player.events_total < 20'\n`));
    expect(d).toMatchObject({ code: 'RULE_TYPE_ERROR', file: 'segments.yaml', line: 2, message: 'the condition is of type int; it must be true or false' });
  });

  it('a segment that reads the event', () => {
    const d = only(withSegments(`  whales: 'player.revenue_30d >= 5000 && event.type == "x"'\n  newcomers: 'player.events_total < 20'\n`));
    expect(d).toMatchObject({ code: 'RULE_REFERENCE', file: 'segments.yaml', line: 2, column: 42 });
    expect(d.message).toContain('not `event`');
  });

  it('a duplicate name', () => {
    const d = only(withSegments(`  whales: 'player.revenue_30d >= 5000'\n  newcomers: 'player.events_total < 20'\n  whales: 'player.revenue_30d >= 1'\n`));
    expect(d).toMatchObject({ code: 'RULE_YAML', file: 'segments.yaml', line: 4, column: 3, message: 'YAML: Map keys must be unique' });
  });

  it('a bad name, and a CEL reserved word', () => {
    const bad = only(withSegments(`  Whales-1: 'player.revenue_30d >= 5000'\n  whales: 'player.revenue_30d >= 5000'\n  newcomers: 'player.events_total < 20'\n`));
    expect(bad).toMatchObject({ code: 'RULE_SCHEMA', file: 'segments.yaml', line: 2, column: 3 });
    expect(bad.message).toContain('lower_snake_case');
    const reserved = only(withSegments(`  in: 'true'\n  whales: 'player.revenue_30d >= 5000'\n  newcomers: 'player.events_total < 20'\n`));
    expect(reserved).toMatchObject({ code: 'RULE_SCHEMA', line: 2, column: 3, message: '`in` is a reserved word of CEL: `segment.in` could not be written' });
  });

  it('a segment naming an unknown segment, and segments in a circle', () => {
    const unknown = only(withSegments(`  whales: 'player.revenue_30d >= 5000'\n  newcomers: 'player.events_total < 20'\n  new_whales: 'segment.whale && segment.newcomers'\n`));
    expect(unknown).toMatchObject({ code: 'RULE_REFERENCE', line: 4, column: 24, message: '`segment` has no field `whale`; it is not declared in segments.yaml', hint: 'did you mean `whales`?' });
    const circle = only(withSegments(`  whales: 'player.revenue_30d >= 5000 && segment.newcomers'\n  newcomers: 'segment.whales'\n`));
    expect(circle).toMatchObject({ code: 'RULE_CONFLICT', line: 2, message: 'segment `whales` depends on itself: whales → newcomers → whales' });
  });

  it('a rule naming an unknown segment, at its column', () => {
    const d = only(sampleWith('newcomer-coins.yaml', (t) => t.replace('segment.newcomers', 'segment.newcomer')));
    expect(d).toMatchObject({ code: 'RULE_REFERENCE', file: 'newcomer-coins.yaml', line: 7, column: 18, hint: 'did you mean `newcomers`?' });
    const files = sampleFiles();
    delete files['segments.yaml'];
    const none = diagnosticsOf(compileBundle(files));
    expect(none.map((x) => [x.file, x.code])).toEqual([
      ['newcomer-coins.yaml', 'RULE_REFERENCE'],
      ['policy.yaml', 'RULE_REFERENCE'],
    ]);
  });

  it('a policy cap for an unknown segment', () => {
    const d = only(sampleWith('policy.yaml', (t) => t.replace('whales: { maxOffersPerDay: 5 }', 'whalez: { maxOffersPerDay: 5 }')));
    expect(d).toMatchObject({ code: 'RULE_REFERENCE', file: 'policy.yaml', line: 15, column: 3, message: 'segment `whalez` is not declared in segments.yaml', hint: 'did you mean `whales`?' });
  });
});

describe('dailyCapFor', () => {
  const policy = { maxOffersPerDay: 3, segmentCaps: new Map([['whales', 5], ['vip', 2], ['fans', 2]]) };
  it("takes the tightest cap of the player's segments, else the global one", () => {
    expect(dailyCapFor(policy, {})).toEqual({ max: 3, segment: null });
    expect(dailyCapFor(policy, { whales: false })).toEqual({ max: 3, segment: null });
    expect(dailyCapFor(policy, { whales: true })).toEqual({ max: 5, segment: 'whales' });
    expect(dailyCapFor(policy, { whales: true, vip: true })).toEqual({ max: 2, segment: 'vip' });
    expect(dailyCapFor(policy, { whales: true, vip: true, fans: true })).toEqual({ max: 2, segment: 'fans' });
    expect(dailyCapFor({ maxOffersPerDay: null, segmentCaps: new Map() }, { whales: true })).toEqual({ max: null, segment: null });
  });
});
