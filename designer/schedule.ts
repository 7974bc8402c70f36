/**
 * Rule schedules (docs/designers.md, "Schedules"): an optional `start` and `end` instant and
 * optional weekly windows of local wall-clock time in one IANA time zone. A rule is in its
 * schedule at instant `t` when `start <= t < end` and, with `weekly`, the wall clock of `t`
 * in `timeZone` falls on one of a window's days with `from <= time of day < to`. Windows are
 * defined on the wall clock, so across a daylight-saving change a window keeps its local
 * hours (and lasts an hour more or less). With `playerTimeZone`, the weekly windows are in
 * the zone a player property holds (`forZone`). Time-zone math uses Intl, without a dependency.
 *
 * The engine asks `at(t)` for every scheduled rule a triggering event considers. A compiled
 * schedule remembers the last span of time over which its answer is constant (until the next
 * window start, window end or offset change), so an event inside that span costs two
 * comparisons and no allocation; a new span is computed when an event falls outside it.
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Offsets of real zones lie within -12h…+14h: an instant with wall time W lies in W-14h…W+12h. */
const BRACKET_BEFORE_MS = 14 * 3_600_000;
const BRACKET_AFTER_MS = 12 * 3_600_000;

export interface WeeklyWindow {
  readonly days: readonly Weekday[];
  /** Minutes after local midnight, inclusive. */
  readonly fromMin: number;
  /** Minutes after local midnight, exclusive; at most 1440 (`24:00`). */
  readonly toMin: number;
}

export interface ScheduleSpec {
  readonly start: number | null;
  readonly end: number | null;
  readonly timeZone: string;
  readonly weekly: readonly WeeklyWindow[] | null;
  /**
   * `playerTimeZone`: a string player property holding the player's IANA time zone; the
   * weekly windows are then in the player's zone, and in `timeZone` when the property is
   * absent or not a zone this runtime knows. Null: every player shares `timeZone`.
   */
  readonly playerTimeZone?: string | null;
}

/** At most this many per-zone schedules are remembered per rule (there are about 600 IANA zones). */
const MAX_ZONES = 1024;

export interface ScheduleState {
  readonly active: boolean;
  /** When inactive: the next instant the rule is in its schedule, or null when never again. */
  readonly nextStart: number | null;
}

/** `HH:MM`, 00:00–23:59, and `24:00` (end of the day, only as a window's `to`). */
export function parseClock(text: string): number | null {
  const m = /^([01][0-9]|2[0-4]):([0-5][0-9])$/.exec(text);
  if (!m) return null;
  const min = Number(m[1]) * 60 + Number(m[2]);
  return min <= 1440 ? min : null;
}

/** True when `zone` is an IANA time zone name this runtime knows (or UTC). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterOf(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Offset of `zone` at instant `t`, in ms (wall clock = t + offset), to the second. */
export function zoneOffset(zone: string, t: number): number {
  const parts = formatterOf(zone).formatToParts(new Date(t));
  let y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  for (const p of parts) {
    if (p.type === 'year') y = Number(p.value);
    else if (p.type === 'month') mo = Number(p.value);
    else if (p.type === 'day') d = Number(p.value);
    else if (p.type === 'hour') h = Number(p.value);
    else if (p.type === 'minute') mi = Number(p.value);
    else if (p.type === 'second') s = Number(p.value);
  }
  const secondStart = Math.floor(t / 1000) * 1000;
  return Date.UTC(y, mo - 1, d, h, mi, s) - secondStart;
}

/** The compiled, queryable schedule of one rule. */
export class Schedule {
  private spanFrom = 1;
  private spanTo = 0;
  private spanState: ScheduleState = { active: false, nextStart: null };

  private zones: Map<string, Schedule | null> | null = null;

  constructor(readonly spec: ScheduleSpec) {}

  /**
   * The schedule for a player whose `playerTimeZone` property holds `zone`: this one when
   * the rule has no player zone, or `zone` is not a known zone name; else the same schedule
   * in `zone` (made once per zone and remembered).
   */
  forZone(zone: unknown): Schedule {
    if (typeof zone !== 'string' || zone === this.spec.timeZone || zone.length > 64) return this;
    this.zones ??= new Map();
    let s = this.zones.get(zone);
    if (s === undefined) {
      s = isTimeZone(zone) ? new Schedule({ ...this.spec, timeZone: zone, playerTimeZone: null }) : null;
      if (this.zones.size < MAX_ZONES) this.zones.set(zone, s);
    }
    return s ?? this;
  }

  /** Whether the rule is in its schedule at instant `t` (ms), and if not, when it next is. */
  at(t: number): ScheduleState {
    if (t >= this.spanFrom && t < this.spanTo) return this.spanState;
    const { state, until } = this.compute(t);
    this.spanFrom = t;
    this.spanTo = until;
    this.spanState = state;
    return state;
  }

  /** The answer at `t` and the instant up to which it holds (exclusive). */
  private compute(t: number): { state: ScheduleState; until: number } {
    const { start, end } = this.spec;
    if (end !== null && t >= end) return { state: { active: false, nextStart: null }, until: Infinity };
    if (start !== null && t < start) {
      const next = this.weeklyActiveFrom(start);
      const nextStart = next !== null && (end === null || next < end) ? next : null;
      return { state: { active: false, nextStart }, until: nextStart ?? start };
    }
    if (this.weeklyActive(t)) {
      const until = Math.min(end ?? Infinity, this.windowEnd(t));
      return { state: { active: true, nextStart: null }, until };
    }
    const next = this.weeklyStartAfter(t);
    const nextStart = next !== null && (end === null || next < end) ? next : null;
    return { state: { active: false, nextStart }, until: nextStart ?? end ?? Infinity };
  }

  private wall(t: number): number {
    return t + zoneOffset(this.spec.timeZone, t);
  }

  private weeklyActive(t: number): boolean {
    const weekly = this.spec.weekly;
    if (weekly === null) return true;
    const wall = this.wall(t);
    const day = Math.floor(wall / DAY_MS);
    const weekday = WEEKDAYS[(((day + 4) % 7) + 7) % 7] as Weekday;
    const minute = Math.floor((wall - day * DAY_MS) / MINUTE_MS);
    for (const w of weekly) if (w.days.includes(weekday) && minute >= w.fromMin && minute < w.toMin) return true;
    return false;
  }

  /** The first instant >= t at which the weekly windows hold. */
  private weeklyActiveFrom(t: number): number | null {
    return this.weeklyActive(t) ? t : this.weeklyStartAfter(t);
  }

  /** Where the current window ends (or the zone's offset changes, whichever is first); t is inside a window. */
  private windowEnd(t: number): number {
    const weekly = this.spec.weekly;
    if (weekly === null) return Infinity;
    const wall = this.wall(t);
    const day = Math.floor(wall / DAY_MS);
    const weekday = WEEKDAYS[(((day + 4) % 7) + 7) % 7] as Weekday;
    const minute = Math.floor((wall - day * DAY_MS) / MINUTE_MS);
    let endMin = minute + 1;
    for (const w of weekly) if (w.days.includes(weekday) && minute >= w.fromMin && minute < w.toMin) endMin = Math.max(endMin, w.toMin);
    const end = this.firstInstantAt(day * DAY_MS + endMin * MINUTE_MS, t) ?? t + 1;
    return Math.min(end, this.offsetChangeBetween(t, end) ?? Infinity);
  }

  /** The first instant > t at which the weekly windows start to hold; t is outside every window. */
  private weeklyStartAfter(t: number): number | null {
    const weekly = this.spec.weekly;
    if (weekly === null) return null;
    const firstDay = Math.floor(this.wall(t) / DAY_MS) - 1;
    let best: number | null = null;
    for (let day = firstDay; day <= firstDay + 9 && best === null; day += 1) {
      const weekday = WEEKDAYS[(((day + 4) % 7) + 7) % 7] as Weekday;
      for (const w of weekly) {
        if (!w.days.includes(weekday)) continue;
        const s = this.firstInstantAt(day * DAY_MS + w.fromMin * MINUTE_MS, t);
        if (s !== null && (best === null || s < best)) best = s;
      }
    }
    if (best === null) return null;
    // A clock set back between t and that start can put the wall clock into a window early.
    const change = this.offsetChangeBetween(t, best);
    return change !== null && this.weeklyActive(change) ? change : best;
  }

  /**
   * The first instant after `after` whose wall clock reads `wall` (of the two, when a DST
   * change repeats it); a wall time skipped by a DST change is reached at the change. Null
   * when both are not after `after`.
   */
  private firstInstantAt(wall: number, after: number): number | null {
    const zone = this.spec.timeZone;
    const before = wall - zoneOffset(zone, wall - BRACKET_BEFORE_MS);
    const later = wall - zoneOffset(zone, wall + BRACKET_AFTER_MS);
    const exact = [before, later].filter((c) => this.wall(c) === wall);
    const candidates = exact.length > 0 ? exact : [this.offsetChangeBetween(Math.min(before, later), Math.max(before, later)) ?? Math.min(before, later)];
    let best: number | null = null;
    for (const c of candidates) if (c > after && (best === null || c < best)) best = c;
    return best;
  }

  /** The instant in (a, b] at which the zone's offset changes, when it differs at a and b (at most one change assumed). */
  private offsetChangeBetween(a: number, b: number): number | null {
    if (!Number.isFinite(b)) return null;
    const zone = this.spec.timeZone;
    const oa = zoneOffset(zone, a);
    if (zoneOffset(zone, b) === oa) return null;
    let lo = a;
    let hi = b;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (zoneOffset(zone, mid) === oa) lo = mid;
      else hi = mid;
    }
    return hi;
  }
}
