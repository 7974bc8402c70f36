/**
 * Event times for tests, relative to the real clock, so a suite never depends on the day it
 * runs (and passes with the clock moved forward): a fixed calendar date would meet Redis TTLs
 * and day buckets that follow the server clock. Noon UTC keeps a test's hours inside one UTC
 * day, as budget and fatigue windows are aligned to UTC days.
 */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Noon UTC of the day `days` days before today (1: yesterday noon, always 12–36 h ago). */
export function noonDaysAgo(days: number, now = Date.now()): number {
  return Math.floor(now / DAY_MS) * DAY_MS - days * DAY_MS + 12 * HOUR_MS;
}
