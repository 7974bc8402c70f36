/**
 * Follow-ups in a backtest (offers/backtest/run.ts): the sample's `starter-pack` schedules
 * `starter-pack-reminder` 10 minutes after its offer unless it was bought. The backtest
 * decides each follow-up at its due time in the replay — after the player's events before
 * it, before those at or after it — as the follow-up job would live; those due after the
 * window are not decided. A crafted history on a real topic, the real backtest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { runBacktest } from '../../offers/backtest/run.ts';
import type { BacktestReport, RuleVariantReport } from '../../offers/backtest/report.ts';
import { readBundleDir } from '../../designer/load.ts';
import { compileBundle } from '../../designer/compile.ts';
import { inHoldout, offerIdFor } from '../../offers/engine/hashing.ts';
import type { EventRecord } from '../../protocol/record.ts';
import { cleanupRedisPrefix, createTestTopics, testConfig } from '../helpers/stack.ts';
import { produceRecorded } from './backtest-stack.ts';

const MIN = 60_000;
const T = Date.now() - 3 * 60 * MIN;
const files = readBundleDir('offers/rules');

let config: Config;
let redis: RedisClient;
let report: BacktestReport;

/** Player ids outside the sample's global holdout. */
function eligible(n: number): string[] {
  const compiled = compileBundle(files);
  if (!compiled.ok) throw new Error('the sample rules do not compile');
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (!inHoldout(`fu-${i}`, compiled.bundle.policy.holdoutPercent)) out.push(`fu-${i}`);
  return out;
}

const [stays, buysOffer, buysInStore, buysLater, late] = eligible(5) as [string, string, string, string, string];
let seq = 0;
const ev = (player: string, at: number, type: string, data: Record<string, unknown>, id = `e${seq++}`): EventRecord => ({ v: 1, player, id, type, data, recvAt: at, edge: 'recorded', session: 's' });

/** Three matches, then the store: the starter pack is offered at `at` (store event id `store-<player>`). */
function starter(player: string, at: number): EventRecord[] {
  return [
    ...[0, 1, 2].map((i) => ev(player, at - 3_000 + i * 1_000, 'match.end', { result: 'win', duration_s: 60, mode: 'casual', score: 10 })),
    ev(player, at, 'store.open', { tab: 'featured' }, `store-${player}`),
  ];
}

const records: EventRecord[] = [
  // No answer to the offer: the reminder is offered at T + 10m.
  ...starter(stays, T + 10_000),
  ev(stays, T + 15 * MIN, 'match.end', { result: 'loss', duration_s: 60, mode: 'casual', score: 1 }),
  // Bought the offer before the follow-up was due: cancelled.
  ...starter(buysOffer, T + 10_000),
  ev(buysOffer, T + 5 * MIN, 'offer.purchased', { offerId: offerIdFor('starter-pack', buysOffer, `store-${buysOffer}`) }),
  // Bought in the store before it was due: the reminder's condition (no purchases) is false then.
  ...starter(buysInStore, T + 10_000),
  ev(buysInStore, T + 8 * MIN, 'shop.purchase', { sku: 'coins.small', coins: 100, amount: 199, currency: 'USD' }),
  // Bought in the store after it was due: the reminder was offered before that purchase.
  ...starter(buysLater, T + 10_000),
  ev(buysLater, T + 12 * MIN, 'shop.purchase', { sku: 'coins.small', coins: 100, amount: 199, currency: 'USD' }),
  // Offered 5 minutes before the window ends: the follow-up falls after it.
  ...starter(late, T + 55 * MIN),
].sort((a, b) => a.recvAt - b.recvAt);

beforeAll(async () => {
  config = testConfig({ PLAYPULSE_PARTITIONS: '3' });
  await createTestTopics(config);
  redis = createRedis(config.redisUrl ?? '', 'backtest-follow-ups');
  await produceRecorded(config, { records, from: T - MIN, to: T + 60 * MIN });
  report = await runBacktest({ config, redis, published: null }, 'follow-ups', { files, from: T - MIN, to: T + 60 * MIN });
}, 120_000);

afterAll(async () => {
  await cleanupRedisPrefix(redis, config.keyPrefix);
  redis.disconnect();
});

const row = (ruleId: string): RuleVariantReport | undefined => report.draft.rows.find((r) => r.ruleId === ruleId);

describe('follow-ups in a backtest', () => {
  it('decides each follow-up at its due time: offered unless bought, with the state of that moment', () => {
    expect(report.window.events).toBe(records.length);
    expect(row('starter-pack')).toMatchObject({ triggers: 5, offers: 5, uniquePlayers: 5 });
    // `stays` and `buysLater`: offered. `buysInStore`: condition false at the due time (not a
    // trigger). `buysOffer`: cancelled (no decision). `late`: due after the window.
    expect(row('starter-pack-reminder')).toMatchObject({ triggers: 2, offers: 2, uniquePlayers: 2, blocked: {} });
  });

  it('is deterministic: the same window and bundle give the same report', async () => {
    const again = await runBacktest({ config, redis, published: null }, 'follow-ups-again', { files, from: T - MIN, to: T + 60 * MIN });
    expect(again.draft.rows).toEqual(report.draft.rows);
  });
});
