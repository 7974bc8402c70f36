import type { Bundle } from '../../designer/types.ts';
import { gauge } from '../../lib/metrics.ts';
import type { RedisClient } from '../../lib/redis.ts';
import { dayIndex, DAY_MS } from '../engine/limits.ts';
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

/** How long a scrape waits for Redis before it serves the sizes read last. */
const SCRAPE_READ_TIMEOUT_MS = 1_000;

/** Each running offers role's reader of today's sizes, with what it read last. */
const sources = new Set<{ read: () => Promise<ReadonlyMap<string, number>>; last: ReadonlyMap<string, number> }>();

gauge(
  'playpulse_segment_players_today',
  'Players a decision found in each segment today (UTC day, approximate: a HyperLogLog per segment and day); read from Redis at scrape time',
  ['segment'],
  async function collect() {
    this.reset();
    for (const source of sources) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), SCRAPE_READ_TIMEOUT_MS)));
      // Redis away or slow: the scrape still answers, with the sizes read last.
      const read = await Promise.race([source.read().catch(() => null), timeout]);
      clearTimeout(timer);
      if (read) source.last = read;
      for (const [segment, players] of source.last) this.set({ segment }, players);
    }
  },
);

/**
 * Serves every segment's size today as `playpulse_segment_players_today{segment}` on this
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
  sources.add(source);
  return () => {
    sources.delete(source);
  };
}
