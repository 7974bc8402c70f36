import { describe, expect, it } from 'vitest';
import { liftLayout } from './chart.ts';
import { funnelData, funnelTotals, PulseRing, timeRange, toPulsePoint, toTimeline, type TimelineVariant } from './series.ts';

const HOUR = 3_600_000;
const now = Date.now();
const h0 = Math.floor(now / HOUR) * HOUR;

describe('chart series', () => {
  it('checks a timeline body and shapes one variant for uPlot, x in seconds', () => {
    const t = toTimeline({ ruleId: 'r', hours: [h0 - HOUR, h0], variants: [{ variant: 'a', offered: [3, 4], delivered: [1], shown: 'x', purchased: [0, 2, 9] }] });
    const a = t.variants[0] as TimelineVariant;
    expect(a).toEqual({ variant: 'a', offered: [3, 4], delivered: [1, 0], shown: [0, 0], purchased: [0, 2] });
    expect(funnelData(t, a)).toEqual([[(h0 - HOUR) / 1000, h0 / 1000], [3, 4], [1, 0], [0, 0], [0, 2]]);
    expect(funnelTotals(a)).toEqual({ offered: 7, delivered: 1, shown: 0, purchased: 2 });
    expect(toTimeline(null)).toEqual({ ruleId: '', hours: [], variants: [] });
  });

  it('keeps the last pipeline samples once each, oldest first', () => {
    const ring = new PulseRing(2);
    const p = (at: number, events: number) => ({ at, eventsPerSec: events, decisionsPerSec: events / 2, offersPerSec: 1, lag: 5 });
    expect(ring.push(p(0, 1))).toBe(false);
    expect(ring.push(p(now - 4_000, 10))).toBe(true);
    expect(ring.push(p(now - 4_000, 10))).toBe(false);
    expect(ring.push(p(now, 30))).toBe(true);
    expect(ring.push(p(now - 2_000, 20))).toBe(true);
    expect(ring.data()).toEqual([[(now - 2_000) / 1000, now / 1000], [20, 30], [10, 15], [1, 1], [5, 5]]);
    expect(ring.latest?.at).toBe(now);
    expect(toPulsePoint({ total: { at: now, eventsPerSec: 2, decisionsPerSec: 'x', offersPerSec: 1, lag: 3 } })).toEqual({ at: now, eventsPerSec: 2, decisionsPerSec: 0, offersPerSec: 1, lag: 3 });
    expect(toPulsePoint({}).at).toBe(0);
  });

  it('gives a time chart at least its minimum span, ending at the latest point', () => {
    const t = Math.floor(now / 1000);
    expect(timeRange(t, t, 60)).toEqual([t - 60, t]);
    expect(timeRange(t - 600, t, 60)).toEqual([t - 600, t]);
    expect(timeRange(t - 30, t, 60)).toEqual([t - 60, t]);
  });

  it('lays lift out on one axis holding zero and every interval end, toned by the interval', () => {
    const l = liftLayout(
      [
        { label: 'a', lift: 0.2, low: 0.05, high: 0.35 },
        { label: 'b', lift: -0.1, low: -0.4, high: 0.2 },
        { label: 'c', lift: -0.3, low: -0.5, high: -0.1 },
        { label: 'd', lift: 0.1, low: null, high: null },
      ],
      720,
      200,
    );
    const [a, b, c, d] = l.rows;
    expect(l.zero).toBeGreaterThan(200);
    expect(a?.x1).toBeGreaterThan(l.zero);
    expect(a?.tone).toBe('ok');
    expect(b?.x1).toBeLessThan(l.zero);
    expect(b?.x2).toBeGreaterThan(l.zero);
    expect(b?.tone).toBe('');
    expect(c?.x2).toBeLessThan(l.zero);
    expect(c?.tone).toBe('bad');
    expect(d?.x1).toBeNull();
    expect(Math.min(...l.rows.map((r) => r.x1 ?? r.x))).toBe(200);
    expect(Math.max(...l.rows.map((r) => r.x2 ?? r.x))).toBe(l.textX - 12);
    expect(liftLayout([]).rows).toEqual([]);
  });
});
