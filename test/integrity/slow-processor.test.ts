/**
 * Fault: a processor whose handler is slower than the heartbeat interval (3 s): its Redis
 * (a dedicated redis-server) holds every write for 4 s at a time with CLIENT PAUSE WRITE,
 * several times in a row. The group does not rebalance (same member, no consumer restart),
 * the lag metric shows the backlog, and everything is applied exactly once afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Admin } from 'kafkajs';
import { assertAppliedOnce } from './checks.ts';
import { createWorld, type World } from './env.ts';
import { integrityKafka, produceRecords, waitConsumed } from './kafka-tools.ts';
import { readPlayerStates, scanPlayersWithState } from './readers.ts';
import { expectedStates, generateStream, toRecord } from './stream.ts';
import { startRoles, waitFor } from '../faults/processes.ts';
import { scrape, sumOf } from '../faults/metrics.ts';
import { startDedicatedRedis, type DedicatedRedis } from '../faults/services.ts';
import { sleep } from '../../lib/time.ts';

const PAUSES = process.env.PLAYPULSE_SOAK === '1' ? 15 : 3;
const PAUSE_MS = 4_000;

/** Soak sizes take longer than the CI budget allows a test; without a soak, the CI timeout. */
const SOAK_TIMEOUT_MS = process.env.PLAYPULSE_SOAK === '1' ? 3_600_000 : undefined;

describe('a processor slower than its heartbeat', () => {
  let redis: DedicatedRedis;
  let world: World;
  beforeAll(async () => {
    redis = await startDedicatedRedis('everysec');
    world = createWorld({ redisUrl: redis.url });
    await world.createTopics();
  });
  afterAll(async () => {
    await world.cleanup();
    await redis.stop();
  });

  it('causes no rebalance, shows its lag, and applies everything once', async () => {
    const t0 = Date.now();
    const players = Array.from({ length: 200 }, (_, i) => `pslow${i}`);
    const first = generateStream({ players, perPlayer: 20, seed: 71 });
    const second = generateStream({ players, perPlayer: 20, seed: 72 }).map((s) => ({ ...s, event: { ...s.event, id: `${s.event.id}-b` } }));
    const kafka = integrityKafka(world.brokers);
    const admin = kafka.admin();
    await admin.connect();
    const proc = await startRoles('processors', world.env);
    world.processes.push(proc);
    await produceRecords(kafka, world.topic, first.map((s) => toRecord(s.player, s.event)));
    await waitConsumed(admin, world.groupId, world.topic);
    const membersBefore = await members(admin, world.groupId);
    expect(membersBefore).toHaveLength(1);

    const control = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    let maxLag = 0;
    const memberSamples: string[][] = [];
    for (let i = 0; i < PAUSES; i++) {
      await control.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
      await produceRecords(kafka, world.topic, second.slice((i * second.length) / PAUSES, ((i + 1) * second.length) / PAUSES).map((s) => toRecord(s.player, s.event)));
      const until = Date.now() + PAUSE_MS;
      while (Date.now() < until) {
        maxLag = Math.max(maxLag, sumOf(await scrape(proc.healthPort), 'playpulse_processor_consumer_lag'));
        memberSamples.push(await members(admin, world.groupId));
        await sleep(500);
      }
      await waitFor('the pause to end', async () => ((await control.call('CLIENT', 'UNPAUSE')) === 'OK' ? true : undefined), 5_000);
      await sleep(300);
    }
    control.disconnect();
    await waitConsumed(admin, world.groupId, world.topic);
    const membersAfter = await members(admin, world.groupId);

    expect(maxLag).toBeGreaterThan(0);
    expect(membersAfter).toEqual(membersBefore);
    for (const sample of memberSamples) expect(sample).toEqual(membersBefore);
    expect(sumOf(await scrape(proc.healthPort), 'playpulse_processor_consumer_restarts_total')).toBe(0);
    expect(proc.alive()).toBe(true);

    const actual = await readPlayerStates(world.redis, world.keyPrefix, await scanPlayersWithState(world.redis, world.keyPrefix));
    assertAppliedOnce(expectedStates([...first, ...second]), actual);
    await admin.disconnect();
    console.log(
      `slow processor: ${PAUSES} write pauses of ${PAUSE_MS} ms (heartbeat 3 s); ${first.length + second.length} events applied exactly; max lag metric ${maxLag}; ` +
        `group member unchanged over ${memberSamples.length} samples; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, SOAK_TIMEOUT_MS ?? 180_000);
});

async function members(admin: Admin, groupId: string): Promise<string[]> {
  const { groups } = await admin.describeGroups([groupId]);
  return (groups[0]?.members ?? []).map((m) => m.memberId).sort();
}
