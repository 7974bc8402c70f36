import { pulseKey } from '../../lib/keys.ts';
import type { RedisClient } from '../../lib/redis.ts';
import { liveSamples, pulseRates, type PulseCounters, type PulseRates } from '../../processors/pulse.ts';

export interface PipelineHealth {
  /** Per live processors instance: its rates over its latest pulse interval, its lag, and its cumulative counters. */
  readonly instances: (PulseRates & PulseCounters & { readonly instance: string })[];
  /** Sums over the instances; `at` is the newest sample's time (0 without any). */
  readonly total: PulseRates;
}

/** Sums instance rates (their lags too: each instance holds its own partitions). */
export function totalRates(instances: readonly PulseRates[]): PulseRates {
  const sum = (k: Exclude<keyof PulseRates, 'at'>) => instances.reduce((n, r) => n + r[k], 0);
  return {
    at: Math.max(0, ...instances.map((r) => r.at)),
    eventsPerSec: sum('eventsPerSec'),
    decisionsPerSec: sum('decisionsPerSec'),
    offersPerSec: sum('offersPerSec'),
    lag: sum('lag'),
  };
}

/** `GET /v1/pipeline/health`: one HGETALL of the processors' pulse (processors/pulse.ts). */
export async function pipelineHealth(redis: RedisClient, prefix: string): Promise<PipelineHealth> {
  const samples = liveSamples(await redis.hgetall(pulseKey(prefix)));
  const instances = [...samples].map(([instance, s]) => ({ instance, ...pulseRates(s), events: s.events, decisions: s.decisions, offers: s.offers })).sort((a, b) => a.instance.localeCompare(b.instance));
  return { instances, total: totalRates(instances) };
}
