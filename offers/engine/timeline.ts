/**
 * The hourly funnel of a rule (pure): which stats counters also go to the rule's hour
 * HASH (`offerKeys.statsHour`), the hour buckets and their expiry, and the shape the admin
 * API serves. The writes happen in the stats MULTI (redis-ops.ts, StatsDelta.flush).
 */
import { HOUR_MS } from './limits.ts';

export const TIMELINE_STAGES = ['offered', 'delivered', 'shown', 'purchased'] as const;
export type TimelineStage = (typeof TIMELINE_STAGES)[number];

/** An hour HASH expires this long after its latest write (PEXPIRE, Redis server clock). */
export const TIMELINE_TTL_MS = 8 * 24 * HOUR_MS;
/** The most hours one timeline read may ask for (the keys hold about 8 days). */
export const TIMELINE_MAX_HOURS = 192;

const STAGE_SET: ReadonlySet<string> = new Set(TIMELINE_STAGES);

/** Hours since the epoch of a time in ms. */
export function hourOf(ms: number): number {
  return Math.floor(ms / HOUR_MS);
}

/** The `hours` hour buckets ending with the one holding `now`, oldest first. */
export function hourRange(now: number, hours: number): number[] {
  const last = hourOf(now);
  return Array.from({ length: hours }, (_, i) => last - hours + 1 + i);
}

/** The stats fields (`<variant>|<counter>`) that also count in the hour HASH. */
export function isTimelineField(field: string): boolean {
  const bar = field.lastIndexOf('|');
  return bar > 0 && STAGE_SET.has(field.slice(bar + 1));
}

export interface TimelineVariant {
  readonly variant: string;
  /** Per stage, one count per hour of `hours`, aligned with it. */
  readonly offered: number[];
  readonly delivered: number[];
  readonly shown: number[];
  readonly purchased: number[];
}

export interface Timeline {
  readonly ruleId: string;
  /** Hour starts (ms), oldest first. */
  readonly hours: number[];
  readonly variants: TimelineVariant[];
}

/** Shapes hour HASHes (aligned with `hours`, hours since the epoch) into per-variant series, variants sorted. */
export function shapeTimeline(ruleId: string, hours: readonly number[], hashes: readonly Readonly<Record<string, string>>[]): Timeline {
  const byVariant = new Map<string, Record<TimelineStage, number[]>>();
  hashes.forEach((hash, i) => {
    for (const [field, value] of Object.entries(hash)) {
      const bar = field.lastIndexOf('|');
      const stage = field.slice(bar + 1);
      if (bar <= 0 || !STAGE_SET.has(stage)) continue;
      const variant = field.slice(0, bar);
      let series = byVariant.get(variant);
      if (!series) {
        const zeros = () => hours.map(() => 0);
        series = { offered: zeros(), delivered: zeros(), shown: zeros(), purchased: zeros() };
        byVariant.set(variant, series);
      }
      series[stage as TimelineStage][i] = Number(value) || 0;
    }
  });
  const variants = [...byVariant.keys()].sort().map((variant) => ({ variant, ...(byVariant.get(variant) as Record<TimelineStage, number[]>) }));
  return { ruleId, hours: hours.map((h) => h * HOUR_MS), variants };
}
