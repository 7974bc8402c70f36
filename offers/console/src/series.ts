/**
 * Chart data shaped for uPlot (pure, tested): x values in seconds, one array per series,
 * all aligned. The API shapes they come from: `GET /v1/stats/rules/{id}/timeline` and
 * `GET /v1/pipeline/health` (docs/offers.md §5).
 */
export const FUNNEL_STAGES = ['offered', 'delivered', 'shown', 'purchased'] as const;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];

export interface TimelineVariant extends Record<FunnelStage, number[]> {
  readonly variant: string;
}

export interface Timeline {
  readonly ruleId: string;
  /** Hour starts (ms), oldest first. */
  readonly hours: number[];
  readonly variants: TimelineVariant[];
}

export interface PulsePoint {
  readonly at: number;
  readonly eventsPerSec: number;
  readonly decisionsPerSec: number;
  readonly offersPerSec: number;
  readonly lag: number;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const nums = (v: unknown, n: number): number[] => Array.from({ length: n }, (_, i) => (Array.isArray(v) ? num(v[i]) : 0));

/** The timeline body, checked: every series as long as `hours`, numbers only. */
export function toTimeline(body: unknown): Timeline {
  const b = (body ?? {}) as { ruleId?: unknown; hours?: unknown; variants?: unknown };
  const hours = Array.isArray(b.hours) ? b.hours.map(num) : [];
  const variants = (Array.isArray(b.variants) ? b.variants : []).map((v: Record<string, unknown>) => ({
    variant: String(v.variant ?? ''),
    offered: nums(v.offered, hours.length),
    delivered: nums(v.delivered, hours.length),
    shown: nums(v.shown, hours.length),
    purchased: nums(v.purchased, hours.length),
  }));
  return { ruleId: String(b.ruleId ?? ''), hours, variants };
}

/** uPlot data of one variant's funnel: [hour starts (s), offered, delivered, shown, purchased]. */
export function funnelData(t: Timeline, v: TimelineVariant): number[][] {
  return [t.hours.map((ms) => ms / 1000), ...FUNNEL_STAGES.map((s) => v[s])];
}

/** Totals per stage over the timeline's hours (what the chart's legend and data attribute show). */
export function funnelTotals(v: TimelineVariant): Record<FunnelStage, number> {
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  return { offered: sum(v.offered), delivered: sum(v.delivered), shown: sum(v.shown), purchased: sum(v.purchased) };
}

/** The pipeline health body's `total`, checked. */
export function toPulsePoint(body: unknown): PulsePoint {
  const t = ((body ?? {}) as { total?: Record<string, unknown> }).total ?? {};
  return { at: num(t.at), eventsPerSec: num(t.eventsPerSec), decisionsPerSec: num(t.decisionsPerSec), offersPerSec: num(t.offersPerSec), lag: num(t.lag) };
}

/**
 * The last `size` pipeline samples, oldest first: a sample already held (same `at`: the
 * processors have not written since the last poll) or without one (`at` 0) is not added
 * again.
 */
export class PulseRing {
  private readonly points: PulsePoint[] = [];

  constructor(private readonly size: number) {}

  push(p: PulsePoint): boolean {
    if (p.at <= 0 || this.points.some((q) => q.at === p.at)) return false;
    this.points.push(p);
    this.points.sort((a, b) => a.at - b.at);
    if (this.points.length > this.size) this.points.splice(0, this.points.length - this.size);
    return true;
  }

  get latest(): PulsePoint | null {
    return this.points.at(-1) ?? null;
  }

  /** uPlot data: [time (s), events/s, decisions/s, offers/s, lag]. */
  data(): number[][] {
    const p = this.points;
    return [p.map((x) => x.at / 1000), p.map((x) => x.eventsPerSec), p.map((x) => x.decisionsPerSec), p.map((x) => x.offersPerSec), p.map((x) => x.lag)];
  }
}

/**
 * The x range (s) of a time chart: its data's, at least `minSpan` wide, ending at the latest
 * point. Without it a single point makes uPlot pick a range of years.
 */
export function timeRange(min: number | null, max: number | null, minSpan: number): [number, number] {
  const hi = max ?? Date.now() / 1000;
  const lo = min ?? hi;
  return [Math.min(lo, hi - minSpan), hi];
}
