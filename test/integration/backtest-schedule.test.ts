/**
 * Schedules in a backtest (offers/backtest/run.ts): the backtest decides each recorded event
 * at its own recvAt, so a rule's schedule holds in a replay exactly as it held live. The
 * sample's `starter-pack` gets a schedule from T+20m to T+40m; three players open the store
 * before, inside and after it. A crafted history on a real topic, the real backtest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { runBacktest } from '../../offers/backtest/run.ts';
import type { BacktestReport, RuleVariantReport } from '../../offers/backtest/report.ts';
import { readBundleDir } from '../../designer/load.ts';
import { compileBundle } from '../../designer/compile.ts';
import { inHoldout } from '../../offers/engine/hashing.ts';
import type { EventRecord } from '../../protocol/record.ts';
import { cleanupRedisPrefix, createTestTopics, testConfig } from '../helpers/stack.ts';
import { produceRecorded } from './backtest-stack.ts';

const MIN = 60_000;
const T = Date.now() - 3 * 60 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();
const sample = readBundleDir('offers/rules');
/** The sample with starter-pack scheduled from T+20m to T+40m, without its follow-up. */
const scheduled = {
  ...sample,
  'starter-pack.yaml': `${(sample['starter-pack.yaml'] ?? '').replace(/^followUp:.*\n(?:[ \t]+.*\n?)*/m, '')}schedule:\n  start: "${iso(T + 20 * MIN)}"\n  end: "${iso(T + 40 * MIN)}"\n`,
};
const unscheduled = { ...sample, 'starter-pack.yaml': (sample['starter-pack.yaml'] ?? '').replace(/^followUp:.*\n(?:[ \t]+.*\n?)*/m, '') };

let config: Config;
let redis: RedisClient;
let withSchedule: BacktestReport;
let without: BacktestReport;

/** Player ids outside the sample's global holdout. */
function eligible(n: number): string[] {
  const compiled = compileBundle(sample);
  if (!compiled.ok) throw new Error('the sample rules do not compile');
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (!inHoldout(`sch-${i}`, compiled.bundle.policy.holdoutPercent)) out.push(`sch-${i}`);
  return out;
}

const [before, inside, after] = eligible(3) as [string, string, string];
let seq = 0;
const ev = (player: string, at: number, type: string, data: Record<string, unknown>): EventRecord => ({ v: 1, player, id: `e${seq++}`, type, data, recvAt: at, edge: 'recorded', session: 's' });
/** Three matches, then the store at `at`: the starter pack's condition holds then. */
const visit = (player: string, at: number): EventRecord[] => [
  ...[0, 1, 2].map((i) => ev(player, at - 3_000 + i * 1_000, 'match.end', { result: 'win', duration_s: 60, mode: 'casual', score: 10 })),
  ev(player, at, 'store.open', { tab: 'featured' }),
];
const records: EventRecord[] = [...visit(before, T + 10 * MIN), ...visit(inside, T + 30 * MIN), ...visit(after, T + 50 * MIN)].sort((a, b) => a.recvAt - b.recvAt);
const window = { from: T - MIN, to: T + 60 * MIN };

beforeAll(async () => {
  config = testConfig({ PLAYPULSE_PARTITIONS: '3' });
  await createTestTopics(config);
  redis = createRedis(config.redisUrl ?? '', 'backtest-schedule');
  await produceRecorded(config, { records, ...window });
  withSchedule = await runBacktest({ config, redis, published: null }, 'schedule', { files: scheduled, ...window });
  without = await runBacktest({ config, redis, published: null }, 'schedule-none', { files: unscheduled, ...window });
}, 120_000);

afterAll(async () => {
  await cleanupRedisPrefix(redis, config.keyPrefix);
  redis.disconnect();
});

const row = (report: BacktestReport, ruleId: string): RuleVariantReport | undefined => report.draft.rows.find((r) => r.ruleId === ruleId);

describe('schedules in a backtest', () => {
  it('decides each event at its recorded time: only the store visit inside the window is offered', () => {
    expect(withSchedule.window.events).toBe(records.length);
    // Outside the schedule a rule is not considered: neither a trigger nor a block.
    expect(row(withSchedule, 'starter-pack')).toMatchObject({ triggers: 1, offers: 1, uniquePlayers: 1, blocked: {} });
    expect(row(without, 'starter-pack')).toMatchObject({ triggers: 3, offers: 3, uniquePlayers: 3 });
  });
});
