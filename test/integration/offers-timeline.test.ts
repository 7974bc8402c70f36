import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offerKeys, pulseKey } from '../../lib/keys.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { TIMELINE_STAGES, TIMELINE_TTL_MS } from '../../offers/engine/timeline.ts';
import { HOUR_MS } from '../helpers/time.ts';
import { testConfig } from '../helpers/stack.ts';
import { recordedEvents } from './backtest-events.ts';
import { produceRecorded, startPlayPulse, waitConsumed, type RunningPlayPulse } from './backtest-stack.ts';

/**
 * The charts' data from a real run: recorded traffic of the sample game through every role
 * (Kafka, processors, the decider, responses), then the hourly funnel of each rule equals
 * its stats counters, every hour key expires, and the processors' pulse shows the traffic.
 */
interface Timeline {
  ruleId: string;
  hours: number[];
  variants: ({ variant: string } & Record<(typeof TIMELINE_STAGES)[number], number[]>)[];
}
interface StatRow {
  ruleId: string;
  variant: string;
  offered: number;
  delivered: number;
  shown: number;
  purchased: number;
}
interface Health {
  instances: { instance: string; at: number; eventsPerSec: number; decisionsPerSec: number; offersPerSec: number; lag: number; events: number; decisions: number; offers: number }[];
  total: { eventsPerSec: number; decisionsPerSec: number; lag: number };
}

let pp: RunningPlayPulse;
let redis: RedisClient;
let eventsSent = 0;
let busiest: Health['total'] = { eventsPerSec: 0, decisionsPerSec: 0, lag: 0 };

beforeAll(async () => {
  pp = await startPlayPulse(testConfig());
  redis = createRedis(pp.config.redisUrl ?? '', 'test-timeline');
  const history = recordedEvents({ players: 300, events: 6_000, start: Date.now() - 2 * HOUR_MS, spanMs: HOUR_MS, seed: 11 });
  eventsSent = history.records.length;
  // Every pulse sample (2 s apart) until the one that counts every event: the sample in
  // which the counters grew has rates above zero.
  let counted = 0;
  const watch = (async () => {
    while (counted < eventsSent) {
      const h = await pp.admin<Health>('GET', '/v1/pipeline/health');
      counted = h.instances.find((i) => i.instance === pp.config.instanceId)?.events ?? 0;
      busiest = {
        eventsPerSec: Math.max(busiest.eventsPerSec, h.total.eventsPerSec),
        decisionsPerSec: Math.max(busiest.decisionsPerSec, h.total.decisionsPerSec),
        lag: Math.max(busiest.lag, h.total.lag),
      };
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await produceRecorded(pp.config, history);
  await waitConsumed(pp.config, `${pp.config.keyPrefix}-processors`, 120_000);
  await watch;
}, 180_000);

afterAll(async () => {
  await pp?.stop();
  redis?.disconnect();
});

describe('the hourly funnel', () => {
  it('adds up, per rule, variant and stage, to the stats counters, and every hour key expires', async () => {
    const stats = await pp.admin<{ rules: StatRow[] }>('GET', '/v1/stats/rules');
    const ruleIds = [...new Set(stats.rules.map((r) => r.ruleId))];
    expect(ruleIds).toContain('comeback-bundle');
    let checked = 0;
    for (const ruleId of ruleIds) {
      const t = await pp.admin<Timeline>('GET', `/v1/stats/rules/${ruleId}/timeline?hours=3`);
      expect(t.ruleId).toBe(ruleId);
      expect(t.hours).toHaveLength(3);
      expect(t.hours[2]).toBe(Math.floor(Date.now() / HOUR_MS) * HOUR_MS);
      for (const row of stats.rules.filter((r) => r.ruleId === ruleId && r.variant !== '(holdout)')) {
        const series = t.variants.find((v) => v.variant === row.variant);
        for (const stage of TIMELINE_STAGES) {
          const sum = (series?.[stage] ?? []).reduce((a, b) => a + b, 0);
          expect(sum, `${ruleId} ${row.variant} ${stage}`).toBe(row[stage]);
          checked += row[stage];
        }
      }
    }
    expect(checked).toBeGreaterThan(0);
    const comeback = (await pp.admin<Timeline>('GET', '/v1/stats/rules/comeback-bundle/timeline?hours=2')).variants;
    const sumOf = (stage: 'offered' | 'shown' | 'purchased') => comeback.flatMap((v) => v[stage]).reduce((a, b) => a + b, 0);
    expect(sumOf('offered')).toBeGreaterThan(0);
    expect(sumOf('shown')).toBeGreaterThan(0);
    expect(sumOf('purchased')).toBeGreaterThan(0);

    const hourKeys = [-1, 0].map((d) => offerKeys(pp.config.keyPrefix).statsHour('comeback-bundle', Math.floor(Date.now() / HOUR_MS) + d));
    const ttls = await Promise.all(hourKeys.map((k) => redis.pttl(k)));
    const present = ttls.filter((ttl) => ttl !== -2);
    expect(present.length).toBeGreaterThan(0);
    for (const ttl of present) {
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(TIMELINE_TTL_MS);
    }
  });

  it('refuses a bad rule id or hour count, and answers no variants for a rule without traffic', async () => {
    await expect(pp.admin('GET', '/v1/stats/rules/NOT_A_RULE/timeline')).rejects.toThrow(/HTTP 400/);
    await expect(pp.admin('GET', '/v1/stats/rules/comeback-bundle/timeline?hours=0')).rejects.toThrow(/HTTP 400/);
    await expect(pp.admin('GET', '/v1/stats/rules/comeback-bundle/timeline?hours=500')).rejects.toThrow(/HTTP 400/);
    const none = await pp.admin<Timeline>('GET', '/v1/stats/rules/no-such-rule/timeline');
    expect(none.hours).toHaveLength(48);
    expect(none.variants).toEqual([]);
  });
});

describe('the pipeline pulse', () => {
  it('showed events and decisions per second while the processors worked, and their totals after', async () => {
    expect(busiest.eventsPerSec).toBeGreaterThan(0);
    expect(busiest.decisionsPerSec).toBeGreaterThan(0);
    const mine = (await pp.admin<Health>('GET', '/v1/pipeline/health')).instances.find((i) => i.instance === pp.config.instanceId);
    expect(mine?.events).toBeGreaterThanOrEqual(eventsSent);
    expect(mine?.decisions).toBeGreaterThan(0);
    expect(mine?.offers).toBeGreaterThan(0);
    const ttl = await redis.pttl(pulseKey(pp.config.keyPrefix));
    expect(ttl).toBeGreaterThan(0);
  });
});
