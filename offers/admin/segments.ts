import type { Bundle } from '../../designer/types.ts';
import type { RedisClient } from '../../lib/redis.ts';
import { dayIndex, DAY_MS } from '../engine/limits.ts';
import { segmentSizeSources } from '../engine/metrics.ts';
import { segmentSizes } from '../engine/redis-ops.ts';

export interface SegmentRow {
  readonly name: string;
  readonly description: string;
  readonly condition: string;
  readonly active: boolean;
  readonly maxOffersPerDay: number | null;
  readonly today: number;
}

/** `GET /v1/segments`: every segment of the bundle, with today's approximate size (UTC day of `now`). */
export async function segmentsView(redis: RedisClient, prefix: string, bundle: Bundle, now: number): Promise<{ day: string; segments: SegmentRow[] }> {
  const day = dayIndex(now);
  const names = bundle.segments.all.map((s) => s.name);
  const sizes = names.length > 0 ? await segmentSizes(redis, prefix, names, day) : new Map<string, number>();
  const active = new Set(bundle.segments.active);
  return {
    day: new Date(day * DAY_MS).toISOString().slice(0, 10),
    segments: bundle.segments.all.map((s) => ({
      name: s.name,
      description: s.description,
      condition: s.condition.source,
      active: active.has(s.name),
      maxOffersPerDay: bundle.policy.segmentCaps.get(s.name) ?? null,
      today: sizes.get(s.name) ?? 0,
    })),
  };
}

/**
 * Serves every segment's size today as `playpulse_offers_segment_players_today{segment}` on this
 * process's /metrics, read when scraped: one PFCOUNT per segment of the bundle current then,
 * nothing on the decision path. Returns the function that stops serving them.
 */
export function exposeSegmentSizes(redis: RedisClient, prefix: string, bundles: { current(): Bundle }): () => void {
  const source = {
    read: async (): Promise<ReadonlyMap<string, number>> => {
      const names = bundles.current().segments.all.map((s) => s.name);
      return names.length > 0 ? segmentSizes(redis, prefix, names, dayIndex(Date.now())) : new Map<string, number>();
    },
    last: new Map<string, number>() as ReadonlyMap<string, number>,
  };
  segmentSizeSources.add(source);
  return () => {
    segmentSizeSources.delete(source);
  };
}
