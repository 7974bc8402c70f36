/**
 * Latency histograms of the bench (HdrHistogram, microseconds, 3 significant digits), with a
 * compact encoding so load generators can hand them to the harness and it can merge them.
 */
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

const HIGHEST_US = 120_000_000;

export function createHistogram(): Histogram {
  return build({ bitBucketSize: 'packed', lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3 });
}

export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.min(HIGHEST_US, Math.round(ms * 1000))));
}

export function encodeHistogram(h: Histogram): string {
  return encodeIntoCompressedBase64(h);
}

export function mergeHistograms(encoded: readonly string[]): Histogram {
  const total = createHistogram();
  for (const e of encoded) {
    if (e) total.add(decodeFromCompressedBase64(e, 'packed'));
  }
  return total;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
    meanMs: ms(h.mean),
  };
}

/** Points (latency ms, cumulative share) of the distribution, for the latency chart. */
export function distribution(h: Histogram): { ms: number; share: number }[] {
  const out: { ms: number; share: number }[] = [];
  if (h.totalCount === 0) return out;
  for (const p of [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100]) {
    out.push({ ms: h.getValueAtPercentile(p) / 1000, share: p / 100 });
  }
  return out;
}
