import { pulseKey } from '../lib/keys.ts';
import { registry } from '../lib/metrics.ts';
import type { RedisClient } from '../lib/redis.ts';
import type { Logger } from '../lib/log.ts';

/**
 * The pipeline's pulse: each processors instance writes, every PULSE_INTERVAL_MS, one
 * field of one HASH (lib/keys.ts `pulseKey`) with its cumulative counters and the sample
 * before, so any reader (the offers role's admin API, in another process) gets rates from
 * one read. One MULTI per interval, never per event. Counters are this process's metrics
 * (lib/metrics.ts), so two processors in one process report the same totals.
 */
export const PULSE_INTERVAL_MS = 2_000;
/** A sample older than this (against the newest one) is dropped; the HASH expires this long after the latest write. */
export const PULSE_STALE_MS = 10_000;

export interface PulseCounters {
  /** Events applied to player state (playpulse_processor_events_applied_total). */
  readonly events: number;
  /** Rules decided for triggering events, any outcome (playpulse_offers_decisions_total). */
  readonly decisions: number;
  /** Live offers made (playpulse_offers_decisions_total, outcome offered, mode live). */
  readonly offers: number;
}

export interface PulseSample extends PulseCounters {
  /** Processing clock of the sample (ms). */
  readonly at: number;
  /** Consumer lag now: messages of the assigned partitions not yet applied (playpulse_processor_consumer_lag). */
  readonly lag: number;
  readonly prev: (PulseCounters & { readonly at: number }) | null;
}

export interface PulseRates {
  readonly at: number;
  readonly eventsPerSec: number;
  readonly decisionsPerSec: number;
  readonly offersPerSec: number;
  readonly lag: number;
}

/** Rates per second between a sample and the one before it (zeros without one; a counter that went back counts 0). */
export function pulseRates(s: PulseSample): PulseRates {
  const dt = s.prev ? (s.at - s.prev.at) / 1000 : 0;
  const rate = (k: keyof PulseCounters) => (s.prev && dt > 0 ? Math.max(0, s[k] - s.prev[k]) / dt : 0);
  return { at: s.at, eventsPerSec: rate('events'), decisionsPerSec: rate('decisions'), offersPerSec: rate('offers'), lag: s.lag };
}

/** The pulse HASH's fields parsed, dropping what does not parse and samples PULSE_STALE_MS older than the newest. */
export function liveSamples(hash: Readonly<Record<string, string>>): Map<string, PulseSample> {
  const parsed = new Map<string, PulseSample>();
  for (const [id, raw] of Object.entries(hash)) {
    try {
      const s = JSON.parse(raw) as PulseSample;
      if (typeof s.at === 'number' && Number.isFinite(s.at)) parsed.set(id, s);
    } catch {
      continue;
    }
  }
  const newest = Math.max(...[...parsed.values()].map((s) => s.at));
  for (const [id, s] of parsed) if (s.at < newest - PULSE_STALE_MS) parsed.delete(id);
  return parsed;
}

async function metricValues(name: string): Promise<{ value: number; labels: Record<string, string | number | undefined> }[]> {
  const metric = registry.getSingleMetric(name);
  return metric ? ((await metric.get()).values as { value: number; labels: Record<string, string | number | undefined> }[]) : [];
}

/** This process's counters, from its metrics registry. */
export async function sampleMetrics(): Promise<PulseCounters & { lag: number }> {
  const sum = (vs: { value: number }[]) => vs.reduce((n, v) => n + v.value, 0);
  const [events, decisions, lag] = await Promise.all([
    metricValues('playpulse_processor_events_applied_total'),
    metricValues('playpulse_offers_decisions_total'),
    metricValues('playpulse_processor_consumer_lag'),
  ]);
  const offers = decisions.filter((v) => v.labels.outcome === 'offered' && v.labels.mode === 'live');
  return { events: sum(events), decisions: sum(decisions), offers: sum(offers), lag: sum(lag) };
}

export interface PulseOptions {
  readonly redis: RedisClient;
  readonly keyPrefix: string;
  readonly instanceId: string;
  readonly log: Logger;
  readonly intervalMs?: number;
}

/** Starts writing this instance's pulse; `stop()` removes its field. */
export function startPulse(opts: PulseOptions): { stop(): Promise<void> } {
  const key = pulseKey(opts.keyPrefix);
  let prev: PulseSample['prev'] = null;
  let running: Promise<void> = Promise.resolve();
  const beat = async () => {
    const now = await sampleMetrics();
    const sample: PulseSample = { at: Date.now(), ...now, prev };
    prev = { at: sample.at, events: now.events, decisions: now.decisions, offers: now.offers };
    const res = await opts.redis.multi().hset(key, opts.instanceId, JSON.stringify(sample)).pexpire(key, PULSE_STALE_MS).hgetall(key).exec();
    const all = (res?.[2]?.[1] ?? {}) as Record<string, string>;
    const live = liveSamples(all);
    const stale = Object.keys(all).filter((id) => !live.has(id));
    if (stale.length > 0) await opts.redis.hdel(key, ...stale);
  };
  const timer = setInterval(() => {
    running = beat().catch((err: unknown) => opts.log.debug({ err: String(err) }, 'pulse not written'));
  }, opts.intervalMs ?? PULSE_INTERVAL_MS);
  timer.unref();
  running = beat().catch((err: unknown) => opts.log.debug({ err: String(err) }, 'pulse not written'));
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await opts.redis.hdel(key, opts.instanceId).catch(() => undefined);
    },
  };
}
