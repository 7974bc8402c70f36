/**
 * Rule schedules in the engine (real Redis): a rule is considered only when the event's time
 * (recvAt) is inside its schedule; outside, the explanation says `outside_schedule` and when
 * the next window starts. The windows are built around event times near now (noon UTC
 * yesterday), as decisions write expiries to Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.ts';
import { playerKeys } from '../../lib/keys.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { staticBundleSource } from '../../designer/store.ts';
import { WEEKDAYS } from '../../designer/schedule.ts';
import { createDecider, type ClosableDecider } from '../../offers/engine/decider.ts';
import { decodeDecisionList } from '../../offers/engine/explain-codec.ts';
import type { DecisionRecord } from '../../offers/engine/explain.ts';
import { cleanupRedisPrefix, testConfig } from '../helpers/stack.ts';
import { DAY_MS, HOUR_MS, noonDaysAgo } from '../helpers/time.ts';
import { baseFiles, bundleOf, comebackYaml, loss } from './offers-fixtures.ts';

const T0 = noonDaysAgo(1);
const iso = (ms: number) => new Date(ms).toISOString();
/** T0's weekday in UTC: the weekly window is that day, 11:00–13:00 UTC (T0 is noon); the span is 09:00–13:00 that day. */
const DAY = WEEKDAYS[new Date(T0).getUTCDay()] ?? 'sun';

let config: Config;
let redis: RedisClient;
let decider: ClosableDecider;

beforeAll(() => {
  config = testConfig();
  redis = createRedis(config.redisUrl ?? '', 'test-schedule');
  const bundle = bundleOf(
    baseFiles({
      'weekly.yaml': `${comebackYaml({ id: 'weekly', priority: 100 })}schedule:\n  timeZone: UTC\n  weekly:\n    - { days: [${DAY}], from: "11:00", to: "13:00" }\n`,
      'span.yaml': `${comebackYaml({ id: 'span', priority: 50 })}schedule:\n  start: "${iso(T0 - 3 * HOUR_MS)}"\n  end: "${iso(T0 + HOUR_MS)}"\n`,
    }),
  );
  decider = createDecider({ config, redis, bundles: staticBundleSource(bundle), queues: null });
});

afterAll(async () => {
  await decider.close();
  await cleanupRedisPrefix(redis, config.keyPrefix);
  redis.disconnect();
});

const decisions = async (player: string): Promise<DecisionRecord[]> => decodeDecisionList(await redis.getBuffer(playerKeys(config.keyPrefix, player).decisions));
const inbox = (player: string) => redis.zrange(playerKeys(config.keyPrefix, player).inbox, 0, -1);
const ruleOf = (d: DecisionRecord | undefined, id: string) => d?.rules.find((r) => r.ruleId === id);

describe('rule schedules by the event time', () => {
  it('an event inside both windows gets the offer of the higher-priority rule', async () => {
    await decider.decideBatch([loss('in', T0)]);
    expect(await inbox('in')).toHaveLength(1);
    const [d] = await decisions('in');
    expect(ruleOf(d, 'weekly')).toMatchObject({ outcome: 'offered' });
    expect(ruleOf(d, 'span')).toMatchObject({ outcome: 'lost_to_priority' });
  });

  it('an event outside both windows gets no offer, and the explanation names the next starts', async () => {
    const at = T0 + 2 * HOUR_MS;
    await decider.decideBatch([loss('out', at)]);
    expect(await inbox('out')).toEqual([]);
    const [d] = await decisions('out');
    expect(d?.offerId).toBeNull();
    const nextWeek = T0 - HOUR_MS + 7 * DAY_MS;
    expect(ruleOf(d, 'weekly')).toEqual(expect.objectContaining({ outcome: 'outside_schedule', until: nextWeek, reason: `outside schedule until ${iso(nextWeek)}`, values: {} }));
    expect(ruleOf(d, 'span')).toEqual(expect.objectContaining({ outcome: 'outside_schedule', reason: 'outside schedule; it does not apply again' }));
    expect(ruleOf(d, 'span')?.until).toBeUndefined();
  });

  it('an event before the start instant waits for it; inside one window only, that rule offers', async () => {
    await decider.decideBatch([loss('early', T0 - 4 * HOUR_MS)]);
    const [early] = await decisions('early');
    expect(early?.offerId).toBeNull();
    expect(ruleOf(early, 'span')).toMatchObject({ outcome: 'outside_schedule', until: T0 - 3 * HOUR_MS });
    expect(ruleOf(early, 'weekly')).toMatchObject({ outcome: 'outside_schedule', until: T0 - HOUR_MS });
    await decider.decideBatch([loss('mid', T0 - 90 * 60_000)]);
    const [mid] = await decisions('mid');
    expect(ruleOf(mid, 'weekly')).toMatchObject({ outcome: 'outside_schedule', until: T0 - HOUR_MS });
    expect(ruleOf(mid, 'span')).toMatchObject({ outcome: 'offered' });
    expect(await inbox('mid')).toHaveLength(1);
  });

  it('both ends are exclusive: an event at the end instant and the window end is outside', async () => {
    await decider.decideBatch([loss('edge', T0 + HOUR_MS)]);
    const [edge] = await decisions('edge');
    expect(edge?.rules.map((r) => r.outcome)).toEqual(['outside_schedule', 'outside_schedule']);
    expect(await inbox('edge')).toEqual([]);
  });
});
