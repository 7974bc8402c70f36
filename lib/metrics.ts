import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The one metrics registry of a process; every metric is registered here and served on /metrics. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'playpulse_process_' });

type Labels<L extends string> = readonly L[];

/** Returns the already-registered metric of that name, so modules loaded twice share one. */
export function counter<L extends string = never>(name: string, help: string, labelNames: Labels<L> = []): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames: [...labelNames], registers: [registry] });
}

/**
 * `collect`, when given, runs on every scrape before the gauge is read (prom-client awaits
 * it): for a value that is read from elsewhere at scrape time rather than set as it changes.
 */
export function gauge<L extends string = never>(name: string, help: string, labelNames: Labels<L> = [], collect?: (this: Gauge<L>) => Promise<void>): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge({ name, help, labelNames: [...labelNames], registers: [registry], ...(collect ? { collect } : {}) });
}

export function histogram<L extends string = never>(
  name: string,
  help: string,
  buckets: number[],
  labelNames: Labels<L> = [],
): Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Histogram<L>;
  return new Histogram({ name, help, buckets, labelNames: [...labelNames], registers: [registry] });
}

/** Latency buckets in seconds, 0.1 ms .. 5 s. */
export const LATENCY_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
