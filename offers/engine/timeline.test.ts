import { describe, expect, it } from 'vitest';
import { HOUR_MS } from './limits.ts';
import { hourOf, hourRange, isTimelineField, shapeTimeline } from './timeline.ts';
import { offerKeys } from '../../lib/keys.ts';

describe('the hourly funnel', () => {
  const now = Date.now();

  it('buckets a time into its hour and lists the hours ending with the current one, oldest first', () => {
    const h = hourOf(now);
    expect(h * HOUR_MS).toBeLessThanOrEqual(now);
    expect((h + 1) * HOUR_MS).toBeGreaterThan(now);
    expect(hourOf(h * HOUR_MS)).toBe(h);
    expect(hourOf(h * HOUR_MS - 1)).toBe(h - 1);
    expect(hourRange(now, 3)).toEqual([h - 2, h - 1, h]);
    expect(hourRange(now, 1)).toEqual([h]);
  });

  it('keeps only the funnel stages of a stats field, whatever the variant name holds', () => {
    expect(isTimelineField('a|offered')).toBe(true);
    expect(isTimelineField('default|purchased')).toBe(true);
    expect(isTimelineField('x|y|shown')).toBe(true);
    expect(isTimelineField('a|triggered')).toBe(false);
    expect(isTimelineField('a|revenue|EUR')).toBe(false);
    expect(isTimelineField('(holdout)|exposed')).toBe(false);
    expect(isTimelineField('|offered')).toBe(false);
  });

  it('shapes hour hashes into one aligned series per variant and stage, zeros where an hour has none', () => {
    const hours = hourRange(now, 3);
    const t = shapeTimeline('r', hours, [{ 'b|offered': '2' }, {}, { 'a|offered': '5', 'a|shown': '3', 'a|purchased': '1', 'a|triggered': '9', 'b|delivered': '1' }]);
    expect(t.ruleId).toBe('r');
    expect(t.hours).toEqual(hours.map((h) => h * HOUR_MS));
    expect(t.variants).toEqual([
      { variant: 'a', offered: [0, 0, 5], delivered: [0, 0, 0], shown: [0, 0, 3], purchased: [0, 0, 1] },
      { variant: 'b', offered: [2, 0, 0], delivered: [0, 0, 1], shown: [0, 0, 0], purchased: [0, 0, 0] },
    ]);
    expect(shapeTimeline('r', hours, [{}, {}, {}]).variants).toEqual([]);
  });
});

describe('the hour keys', () => {
  it('share the rule stats hash tag, so the stats MULTI stays on one Cluster slot', () => {
    const tag = (key: string) => /\{[^}]*\}/.exec(key)?.[0];
    const keys = offerKeys('pp');
    const hour = hourOf(Date.now());
    expect(tag(keys.statsHour('comeback-bundle', hour))).toBe('{s:comeback-bundle}');
    expect(tag(keys.statsHour('comeback-bundle', hour))).toBe(tag(keys.stats('comeback-bundle')));
  });
});
