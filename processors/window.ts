/**
 * Sliding windows of `count` and `sum` properties, as bucketed counters.
 *
 * A window of `w` ms is cut into `buckets` buckets of `bucketMs` each (bucketMs × buckets = w
 * exactly whenever possible). An event at time `e` lands in bucket `floor(e / bucketMs)`; at
 * time `t` the window holds the buckets `b` with `floor(t / bucketMs) - buckets < b <=
 * floor(t / bucketMs)`. Hence, for a window that divides exactly (every whole number of
 * seconds, minutes, hours or days does):
 *   - an event at most `w - bucketMs` old always counts;
 *   - an event `w` old or older never counts;
 *   - in between, it counts until its bucket leaves the window.
 * The granularity is the bucket: 1/60 of the window for whole minutes, hours and days
 * (10m → 10 s buckets, 7d → 2.8 h buckets), at most 1/100 for whole seconds not divisible by 3
 * (1 s → 10 ms buckets).
 *
 * The Lua apply script (lua/applyEvents-4.lua) implements the same arithmetic; this module is
 * its reference and what readers use.
 */
export interface WindowGeometry {
  readonly bucketMs: number;
  readonly buckets: number;
}

export const TARGET_BUCKETS = 60;

/** The largest divisor of `windowMs` that is at most 1/60 of it, searched down to 1/120; else ceil(w/60). */
export function windowGeometry(windowMs: number): WindowGeometry {
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) throw new RangeError(`window must be a positive integer of ms, got ${windowMs}`);
  if (windowMs < TARGET_BUCKETS) return { bucketMs: 1, buckets: windowMs };
  const target = Math.floor(windowMs / TARGET_BUCKETS);
  const lowest = Math.max(1, Math.floor(target / 2));
  for (let d = target; d >= lowest; d--) {
    if (windowMs % d === 0) return { bucketMs: d, buckets: windowMs / d };
  }
  const bucketMs = Math.ceil(windowMs / TARGET_BUCKETS);
  return { bucketMs, buckets: Math.ceil(windowMs / bucketMs) };
}

/** Buckets as stored: a flat list `[bucket, value, bucket, value, …]`, buckets ascending. */
export type BucketList = number[];

/** The window total at time `now`. Sums in ascending bucket order (the script does the same). */
export function windowTotal(list: readonly number[], geometry: WindowGeometry, now: number): number {
  const current = Math.floor(now / geometry.bucketMs);
  const oldest = current - geometry.buckets;
  let total = 0;
  for (let i = 0; i + 1 < list.length; i += 2) {
    const b = list[i] as number;
    if (b > oldest && b <= current) total += list[i + 1] as number;
  }
  return total;
}

/**
 * Adds `delta` at time `at` and drops buckets that can never count again (at or before
 * `bucket(at) - buckets`). Mutates and returns `list`. Callers pass non-decreasing `at` per
 * list; an earlier `at` is still placed in its own bucket.
 */
export function windowAdd(list: BucketList, geometry: WindowGeometry, at: number, delta: number): BucketList {
  const b = Math.floor(at / geometry.bucketMs);
  const expired = b - geometry.buckets;
  let drop = 0;
  while (drop + 1 < list.length && (list[drop] as number) <= expired) drop += 2;
  if (drop > 0) list.splice(0, drop);
  let i = list.length - 2;
  while (i >= 0 && (list[i] as number) > b) i -= 2;
  if (i >= 0 && list[i] === b) list[i + 1] = (list[i + 1] as number) + delta;
  else list.splice(i + 2, 0, b, delta);
  return list;
}
