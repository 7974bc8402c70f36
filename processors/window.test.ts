import { describe, expect, it } from 'vitest';
import { windowAdd, windowGeometry, windowTotal } from './window.ts';

const MIN = 60_000;
const DAY = 86_400_000;

describe('windowGeometry', () => {
  it('cuts whole minutes, hours and days into 60 buckets', () => {
    expect(windowGeometry(10 * MIN)).toEqual({ bucketMs: 10_000, buckets: 60 });
    expect(windowGeometry(60 * MIN)).toEqual({ bucketMs: 60_000, buckets: 60 });
    expect(windowGeometry(7 * DAY)).toEqual({ bucketMs: 10_080_000, buckets: 60 });
  });

  it('keeps the window exact for seconds that 60 does not divide, with at most 100 buckets', () => {
    expect(windowGeometry(1_000)).toEqual({ bucketMs: 10, buckets: 100 });
    expect(windowGeometry(7_000)).toEqual({ bucketMs: 100, buckets: 70 });
    for (let s = 1; s <= 600; s++) {
      const g = windowGeometry(s * 1000);
      expect(g.bucketMs * g.buckets).toBe(s * 1000);
      expect(g.buckets).toBeGreaterThanOrEqual(60);
      expect(g.buckets).toBeLessThanOrEqual(100);
    }
  });

  it('falls back to 60 buckets of ceil(w/60) when no divisor is close, covering at least the window', () => {
    const prime = 1_000_003;
    expect(windowGeometry(prime)).toEqual({ bucketMs: 16_667, buckets: 60 });
    expect(windowGeometry(30)).toEqual({ bucketMs: 1, buckets: 30 });
  });

  it('refuses a window that is not a positive whole number of ms', () => {
    expect(() => windowGeometry(0)).toThrow(RangeError);
    expect(() => windowGeometry(1.5)).toThrow(RangeError);
  });
});

describe('window edges (10 minutes, 10 s buckets)', () => {
  const geo = windowGeometry(10 * MIN);
  const t0 = 1_700_000_000_000; // a multiple of 10 s

  it('counts an event until exactly one window later, and not from then on', () => {
    const list = windowAdd([], geo, t0, 1);
    expect(windowTotal(list, geo, t0)).toBe(1);
    expect(windowTotal(list, geo, t0 + 10 * MIN - 1)).toBe(1);
    expect(windowTotal(list, geo, t0 + 10 * MIN)).toBe(0);
  });

  it('always counts an event younger than window minus one bucket; never one a full window old', () => {
    const e = t0 + 9_999; // last ms of its bucket
    const list = windowAdd([], geo, e, 1);
    expect(windowTotal(list, geo, e + 10 * MIN - 10_000)).toBe(1);
    expect(windowTotal(list, geo, e + 10 * MIN - 9_999)).toBe(0);
    expect(windowTotal(list, geo, e + 10 * MIN)).toBe(0);
  });

  it('does not count buckets later than the reading time', () => {
    const list = windowAdd([], geo, t0 + MIN, 1);
    expect(windowTotal(list, geo, t0)).toBe(0);
  });

  it('sums events of one bucket into one entry and keeps buckets ascending', () => {
    const list: number[] = [];
    windowAdd(list, geo, t0, 2);
    windowAdd(list, geo, t0 + 5_000, 3);
    windowAdd(list, geo, t0 + 20_000, 1);
    expect(list).toEqual([t0 / 10_000, 5, t0 / 10_000 + 2, 1]);
    windowAdd(list, geo, t0 + 10_000, 7);
    expect(list).toEqual([t0 / 10_000, 5, t0 / 10_000 + 1, 7, t0 / 10_000 + 2, 1]);
    expect(windowTotal(list, geo, t0 + 20_000)).toBe(13);
  });

  it('drops buckets that can never count again when adding', () => {
    const list: number[] = [];
    windowAdd(list, geo, t0, 1);
    windowAdd(list, geo, t0 + 5 * MIN, 1);
    windowAdd(list, geo, t0 + 10 * MIN, 1);
    expect(list).toEqual([(t0 + 5 * MIN) / 10_000, 1, (t0 + 10 * MIN) / 10_000, 1]);
    expect(windowTotal(list, geo, t0 + 10 * MIN)).toBe(2);
    windowAdd(list, geo, t0 + 30 * MIN, 4);
    expect(list).toEqual([(t0 + 30 * MIN) / 10_000, 4]);
  });

  it('sums fractional values in ascending bucket order', () => {
    const list: number[] = [];
    windowAdd(list, geo, t0, 0.1);
    windowAdd(list, geo, t0 + 10_000, 0.2);
    expect(windowTotal(list, geo, t0 + 10_000)).toBe(0.1 + 0.2);
  });
});
