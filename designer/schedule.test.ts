import { describe, expect, it } from 'vitest';
import { parseClock, Schedule, zoneOffset, type ScheduleSpec } from './schedule.ts';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
/** Sat and Sun 10:00–22:00 in Europe/Berlin. */
const weekend = (over: Partial<ScheduleSpec> = {}): Schedule =>
  new Schedule({ start: null, end: null, timeZone: 'Europe/Berlin', weekly: [{ days: ['sat', 'sun'], fromMin: 600, toMin: 1320 }], ...over });
/** A fresh schedule per question, so the remembered span plays no part. */
const stateAt = (make: () => Schedule, t: string) => {
  const s = make().at(at(t));
  return { active: s.active, nextStart: iso(s.nextStart) };
};

describe('weekly windows in a time zone', () => {
  it('holds from `from` (inclusive) to `to` (exclusive) in local time', () => {
    // 2026-12-05 is a Saturday; Berlin is UTC+1 in December.
    expect(stateAt(weekend, '2026-12-05T08:59:59.999Z')).toEqual({ active: false, nextStart: '2026-12-05T09:00:00.000Z' });
    expect(stateAt(weekend, '2026-12-05T09:00:00.000Z')).toEqual({ active: true, nextStart: null });
    expect(stateAt(weekend, '2026-12-05T20:59:59.999Z')).toEqual({ active: true, nextStart: null });
    expect(stateAt(weekend, '2026-12-05T21:00:00.000Z')).toEqual({ active: false, nextStart: '2026-12-06T09:00:00.000Z' });
  });

  it('gives the next window start across the week', () => {
    expect(stateAt(weekend, '2026-12-06T21:00:00.000Z')).toEqual({ active: false, nextStart: '2026-12-12T09:00:00.000Z' });
    expect(stateAt(weekend, '2026-12-02T12:00:00.000Z')).toEqual({ active: false, nextStart: '2026-12-05T09:00:00.000Z' });
  });

  it('keeps local hours across the spring DST change in Europe/Berlin', () => {
    // Sunday 2026-03-29: clocks go from 02:00 CET to 03:00 CEST; 10:00 local is 08:00 UTC that day, 09:00 UTC the day before.
    expect(stateAt(weekend, '2026-03-28T09:00:00.000Z')).toEqual({ active: true, nextStart: null });
    expect(stateAt(weekend, '2026-03-28T22:00:00.000Z')).toEqual({ active: false, nextStart: '2026-03-29T08:00:00.000Z' });
    expect(stateAt(weekend, '2026-03-29T07:59:59.999Z')).toEqual({ active: false, nextStart: '2026-03-29T08:00:00.000Z' });
    expect(stateAt(weekend, '2026-03-29T19:59:59.999Z')).toEqual({ active: true, nextStart: null });
    expect(stateAt(weekend, '2026-03-29T20:00:00.000Z').active).toBe(false);
  });

  it('keeps local hours across the autumn DST change', () => {
    // Sunday 2026-10-25: clocks go from 03:00 CEST back to 02:00 CET; 10:00 local is 09:00 UTC.
    expect(stateAt(weekend, '2026-10-24T22:00:00.000Z')).toEqual({ active: false, nextStart: '2026-10-25T09:00:00.000Z' });
    expect(stateAt(weekend, '2026-10-25T08:59:59.999Z').active).toBe(false);
    expect(stateAt(weekend, '2026-10-25T20:59:59.999Z').active).toBe(true);
    expect(stateAt(weekend, '2026-10-25T21:00:00.000Z').active).toBe(false);
  });

  it('a window starting at a local time a DST change skips opens at the change', () => {
    const early = () => new Schedule({ start: null, end: null, timeZone: 'Europe/Berlin', weekly: [{ days: ['sun'], fromMin: 150, toMin: 240 }] });
    // 02:30 does not exist on 2026-03-29 in Berlin: the clock jumps from 02:00 to 03:00 at 01:00 UTC.
    expect(stateAt(early, '2026-03-28T12:00:00.000Z')).toEqual({ active: false, nextStart: '2026-03-29T01:00:00.000Z' });
    expect(stateAt(early, '2026-03-29T01:00:00.000Z').active).toBe(true);
    expect(stateAt(early, '2026-03-29T02:00:00.000Z').active).toBe(false);
  });

  it('a window up to 24:00 next to one from 00:00 covers midnight', () => {
    const night = () =>
      new Schedule({ start: null, end: null, timeZone: 'UTC', weekly: [{ days: ['sat'], fromMin: 1320, toMin: 1440 }, { days: ['sun'], fromMin: 0, toMin: 120 }] });
    expect(stateAt(night, '2026-12-05T23:59:59.999Z').active).toBe(true);
    expect(stateAt(night, '2026-12-06T00:00:00.000Z').active).toBe(true);
    expect(stateAt(night, '2026-12-06T02:00:00.000Z')).toEqual({ active: false, nextStart: '2026-12-12T22:00:00.000Z' });
  });
});

describe('start and end', () => {
  const span = () => new Schedule({ start: at('2026-12-24T18:00:00+01:00'), end: at('2026-12-27T00:00:00+01:00'), timeZone: 'UTC', weekly: null });

  it('holds from start (inclusive) to end (exclusive)', () => {
    expect(stateAt(span, '2026-12-24T16:59:59.999Z')).toEqual({ active: false, nextStart: '2026-12-24T17:00:00.000Z' });
    expect(stateAt(span, '2026-12-24T17:00:00.000Z')).toEqual({ active: true, nextStart: null });
    expect(stateAt(span, '2026-12-26T22:59:59.999Z').active).toBe(true);
    expect(stateAt(span, '2026-12-26T23:00:00.000Z')).toEqual({ active: false, nextStart: null });
  });

  it('with weekly windows, the next start is the first window inside start…end', () => {
    const both = () => weekend({ start: at('2026-12-06T00:00:00Z'), end: at('2026-12-13T00:00:00Z') });
    expect(stateAt(both, '2026-12-05T12:00:00.000Z')).toEqual({ active: false, nextStart: '2026-12-06T09:00:00.000Z' });
    expect(stateAt(both, '2026-12-06T21:00:00.000Z')).toEqual({ active: false, nextStart: '2026-12-12T09:00:00.000Z' });
    expect(stateAt(both, '2026-12-12T22:00:00.000Z')).toEqual({ active: false, nextStart: null });
    const startsInside = () => weekend({ start: at('2026-12-05T12:00:00Z') });
    expect(stateAt(startsInside, '2026-12-05T11:00:00.000Z')).toEqual({ active: false, nextStart: '2026-12-05T12:00:00.000Z' });
  });
});

describe('the remembered span', () => {
  it('answers a sequence of instants like fresh schedules do, forwards and backwards', () => {
    const one = weekend({ end: at('2026-12-20T00:00:00Z') });
    const times: number[] = [];
    for (let t = at('2026-12-03T00:00:00Z'); t < at('2026-12-21T00:00:00Z'); t += 37 * 60_000) times.push(t);
    for (const t of [...times, ...times.reverse()]) {
      expect(one.at(t), new Date(t).toISOString()).toEqual(weekend({ end: at('2026-12-20T00:00:00Z') }).at(t));
    }
  });

  it('is not fooled by an offset change inside an active window', () => {
    const all = () => new Schedule({ start: null, end: null, timeZone: 'Europe/Berlin', weekly: [{ days: ['sun'], fromMin: 150, toMin: 300 }] });
    const one = all();
    // 02:40 CEST on 2026-10-25 is in the window; at 01:00 UTC the clock goes back to 02:00, before the window, until 02:30 CET.
    expect(one.at(at('2026-10-25T00:40:00Z')).active).toBe(true);
    expect(one.at(at('2026-10-25T01:10:00Z')).active).toBe(false);
    expect(one.at(at('2026-10-25T01:30:00Z')).active).toBe(true);
    expect(stateAt(all, '2026-10-25T01:10:00Z')).toEqual({ active: false, nextStart: '2026-10-25T01:30:00.000Z' });
  });
});

describe('helpers', () => {
  it('parseClock reads HH:MM up to 24:00', () => {
    expect([parseClock('00:00'), parseClock('09:30'), parseClock('24:00')]).toEqual([0, 570, 1440]);
    expect([parseClock('24:01'), parseClock('9:30'), parseClock('12:60'), parseClock('25:00')]).toEqual([null, null, null, null]);
  });

  it('zoneOffset follows the zone rules', () => {
    expect(zoneOffset('Europe/Berlin', at('2026-01-15T12:00:00Z'))).toBe(3_600_000);
    expect(zoneOffset('Europe/Berlin', at('2026-07-15T12:00:00Z'))).toBe(7_200_000);
    expect(zoneOffset('America/New_York', at('2026-01-15T12:00:00Z'))).toBe(-5 * 3_600_000);
    expect(zoneOffset('Asia/Kolkata', at('2026-01-15T12:00:00Z'))).toBe(5.5 * 3_600_000);
  });
});
