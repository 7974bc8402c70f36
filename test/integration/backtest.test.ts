import { createHash } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.ts';
import { Health } from '../../lib/health.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { startProcessors } from '../../processors/index.ts';
import { compileBundle } from '../../designer/compile.ts';
import { readBundleDir } from '../../designer/load.ts';
import { staticBundleSource } from '../../designer/store.ts';
import type { Bundle } from '../../designer/types.ts';
import { createDecider } from '../../offers/engine/decider.ts';
import { ruleStats } from '../../offers/admin/stats.ts';
import { openBacktestQueue, startBacktestWorker, type BacktestJobView } from '../../offers/backtest/queue.ts';
import { readLiveRates } from '../../offers/backtest/rates.ts';
import { ReportBuilder, type RuleVariantReport } from '../../offers/backtest/report.ts';
import { scratchPrefix } from '../../lib/keys.ts';
import { cleanupRedisPrefix, createTestTopics, testConfig } from '../helpers/stack.ts';
import { recordedEvents, type RecordedEvents } from './backtest-events.ts';
import { produceRecorded, waitConsumed } from './backtest-stack.ts';
import { sleep } from '../../lib/time.ts';

/**
 * The backtest gives the numbers the live system produced. A recorded day of the sample
 * game is produced straight to a fresh topic (record format of protocol/record.ts); the
 * live pipeline — processors and the decider, with its real queues and routing — consumes
 * it into the test's key prefix; then the backtest job replays the same window with the
 * same bundle into its scratch namespace. Per rule and variant, the report must equal
 * what live recorded (the live stats counters, and the same tally of live decisions), and
 * every live key must be byte-for-byte what it was before the backtest.
 *
 * The live processors run with their default chunks: they apply a whole chunk before
 * deciding it, so an `offer.purchased` later in a chunk has already moved the player's
 * `last_purchase_at` when an earlier event of that chunk is decided. The fatigue check
 * ignores a purchase later than the event it decides, so live decisions do not depend on
 * how Kafka happened to batch the events — this test fails if they do.
 *
 * 100k events with PLAYPULSE_SOAK=1; 20k by default, to keep the suite short on 2 cores.
 */
const SOAK = process.env.PLAYPULSE_SOAK === '1';
const EVENTS = SOAK ? 100_000 : 20_000;
const PLAYERS = SOAK ? 5_000 : 1_000;
const HOUR = 3_600_000;

let config: Config;
let redis: RedisClient;
let bundle: Bundle;
let recorded: RecordedEvents;
const timings: Record<string, number> = {};
const liveTally = { builder: null as ReportBuilder | null };

/** sha256 of DUMP of every key under `prefix:`, except the backtest queue's own job records. */
async function snapshot(client: RedisClient, prefix: string): Promise<Map<string, string>> {
  const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
  const out = new Map<string, string>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2000);
      cursor = next;
      const mine = keys.filter((k) => !k.startsWith(`${prefix}:bull:{backtest}`));
      const pipe = node.pipeline();
      for (const k of mine) pipe.dumpBuffer(k);
      const res = (await pipe.exec()) ?? [];
      mine.forEach((k, i) => out.set(k, createHash('sha256').update((res[i]?.[1] as Buffer | null) ?? Buffer.alloc(0)).digest('hex')));
    } while (cursor !== '0');
  }
  return out;
}

/** The rule files with their `followUp:` block removed. */
function withoutFollowUps(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([name, text]) => [name, text.replace(/^followUp:.*\n(?:[ \t]+.*\n?)*/m, '')]));
}

function comparable(rows: readonly RuleVariantReport[]) {
  return rows.map((r) => ({ rule: `${r.ruleId}/${r.variant}`, triggers: r.triggers, offers: r.offers, shadowOffers: r.shadowOffers, uniquePlayers: r.uniquePlayers, blocked: r.blocked }));
}

beforeAll(async () => {
  config = testConfig({ PLAYPULSE_PARTITIONS: '3' });
  await createTestTopics(config);
  redis = createRedis(config.redisUrl ?? '', 'backtest-test');
  // Live, a follow-up is a delayed job run at its due time on the wall clock; this recorded
  // history is replayed live within minutes, so live would run its follow-ups at arbitrary
  // points of the replay. The equality is checked on the sample without follow-ups;
  // backtest-follow-ups.test.ts checks how the backtest decides them.
  const compiled = compileBundle(withoutFollowUps(readBundleDir('offers/rules')));
  if (!compiled.ok) throw new Error('the sample rules do not compile');
  bundle = compiled.bundle;

  recorded = recordedEvents({ players: PLAYERS, events: EVENTS, start: Date.now() - 3 * HOUR, spanMs: 2 * HOUR });
  let t0 = Date.now();
  await produceRecorded(config, recorded);
  timings.produceMs = Date.now() - t0;

  t0 = Date.now();
  const builder = new ReportBuilder(bundle);
  liveTally.builder = builder;
  const deciderRedis = createRedis(config.redisUrl ?? '', 'backtest-test-decider');
  const decider = createDecider({ config, redis: deciderRedis, bundles: staticBundleSource(bundle), onDecision: (p, r) => builder.add(p, r) });
  const processors = await startProcessors({ config, health: new Health(), bundles: staticBundleSource(bundle), decider, onFatal: () => undefined });
  try {
    await waitConsumed(config, `${config.keyPrefix}-processors`, SOAK ? 840_000 : 170_000);
  } finally {
    await processors.stop();
    await decider.close();
    deciderRedis.disconnect();
  }
  timings.liveMs = Date.now() - t0;
}, 900_000);

afterAll(async () => {
  if (redis) {
    await cleanupRedisPrefix(redis, config.keyPrefix);
    redis.disconnect();
  }
  process.stdout.write(`backtest test (${recorded?.records.length ?? 0} events, ${PLAYERS} players): ${JSON.stringify(timings)}\n`);
});

describe(`backtest over ${EVENTS.toLocaleString('en-US')} recorded events`, () => {
  it('reports per rule and variant exactly what the live pipeline did, and leaves live state untouched', async () => {
    expect(recorded.records.length).toBeGreaterThanOrEqual(EVENTS * 0.9);
    const before = await snapshot(redis, config.keyPrefix);
    expect(before.size).toBeGreaterThan(PLAYERS);

    const queue = openBacktestQueue(config);
    const worker = startBacktestWorker({ config, published: () => bundle });
    const seen: number[] = [];
    let view: BacktestJobView | null = null;
    const t0 = Date.now();
    try {
      const id = await queue.submit({ files: bundle.files, from: recorded.from, to: recorded.to });
      for (;;) {
        view = await queue.view(id);
        if (view?.progress) seen.push(view.progress.percent);
        if (view?.state === 'completed' || view?.state === 'failed') break;
        await sleep(100);
      }
    } finally {
      await worker.close();
      await queue.close();
    }
    timings.backtestMs = Date.now() - t0;
    expect(view?.error ?? null).toBeNull();
    const report = view?.report;
    if (!report) throw new Error('the backtest gave no report');
    timings.backtestReportedMs = report.elapsedMs;

    expect(report.window.events).toBe(recorded.records.length);
    expect(seen.at(-1)).toBe(100);
    expect(seen.some((p) => p > 0 && p < 100)).toBe(true);

    const liveRates = await readLiveRates(redis, config.keyPrefix, bundle.rules.map((r) => r.id));
    const live = liveTally.builder?.rows(liveRates) ?? [];
    expect(comparable(report.draft.rows)).toEqual(comparable(live));
    expect(comparable(report.published?.rows ?? [])).toEqual(comparable(live));
    expect(report.draft.rows.map((r) => r.projectedRevenue)).toEqual(live.map((r) => r.projectedRevenue));

    const stats = await ruleStats(redis, config.keyPrefix, bundle);
    for (const row of report.draft.rows) {
      const s = stats.find((x) => x.ruleId === row.ruleId && x.variant === row.variant);
      expect({ rule: `${row.ruleId}/${row.variant}`, triggered: s?.triggered ?? 0, offered: s?.offered ?? 0, shadow_offered: s?.shadow_offered ?? 0 }).toEqual({
        rule: `${row.ruleId}/${row.variant}`,
        triggered: row.triggers,
        offered: row.offers,
        shadow_offered: row.shadowOffers,
      });
    }

    const offers = report.draft.rows.reduce((n, r) => n + r.offers, 0);
    expect(offers).toBeGreaterThan(0);
    expect(report.draft.rows.some((r) => r.mode === 'shadow' && r.shadowOffers > 0)).toBe(true);
    const reasons = new Set(report.draft.rows.flatMap((r) => Object.keys(r.blocked)));
    for (const reason of ['cooldown', 'holdout', 'control_arm']) expect(reasons).toContain(reason);
    expect(report.draft.rows.some((r) => r.purchaseRate !== null && (r.projectedRevenue ?? 0) > 0)).toBe(true);

    const after = await snapshot(redis, config.keyPrefix);
    expect([...after.keys()].filter((k) => k.startsWith(scratchPrefix(config.keyPrefix, '')))).toEqual([]);
    expect(after).toEqual(before);
  }, 900_000);
});
