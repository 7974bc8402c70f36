/**
 * Fault: Redis (AOF on, a dedicated redis-server) stopped for 10 s under load, then
 * restarted from its data. Processors stop committing while it is gone and resume without
 * loss; edge and processors report not-ready; nobody crash-loops (same pids throughout).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertAppliedOnce } from './checks.ts';
import { createWorld, type World } from './env.ts';
import { committedOffsets, integrityKafka, produceRecords, waitConsumed } from './kafka-tools.ts';
import { readPlayerStates, scanPlayersWithState } from './readers.ts';
import { expectedStates, generateStream, toRecord } from './stream.ts';
import { httpGet, startRoles, waitFor } from '../faults/processes.ts';
import { scrape, sumOf } from '../faults/metrics.ts';
import { startDedicatedRedis, type DedicatedRedis } from '../faults/services.ts';
import { sleep } from '../../lib/time.ts';

const OUTAGE_MS = process.env.PLAYPULSE_SOAK === '1' ? 60_000 : 10_000;

/** Soak sizes take longer than the CI budget allows a test; without a soak, the CI timeout. */
const SOAK_TIMEOUT_MS = process.env.PLAYPULSE_SOAK === '1' ? 3_600_000 : undefined;

describe('Redis stopped for 10 s under load', () => {
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

  it('stops committing, reports not-ready, and resumes without loss', async () => {
    const t0 = Date.now();
    const players = Array.from({ length: 300 }, (_, i) => `predis${i}`);
    const stream = generateStream({ players, perPlayer: 60, seed: 61, resendShare: 0.02 });
    const kafka = integrityKafka(world.brokers);
    const admin = kafka.admin();
    await admin.connect();
    const [edge, proc] = await Promise.all([startRoles('edge', world.env), startRoles('processors', world.env)]);
    world.processes.push(edge, proc);

    const chunks = 20;
    const per = Math.ceil(stream.length / chunks);
    let producing = true;
    const producer = (async () => {
      for (let i = 0; i < chunks; i++) {
        await produceRecords(kafka, world.topic, stream.slice(i * per, (i + 1) * per).map((s) => toRecord(s.player, s.event)));
        await sleep(500);
      }
      producing = false;
    })();

    await waitFor('processors to apply events', async () => (sumOf(await scrape(proc.healthPort), 'playpulse_processor_events_applied_total') > stream.length / 5 ? true : undefined), 60_000, 50);
    await redis.halt();
    const haltedAt = Date.now();
    await sleep(2_000);
    const committedEarly = await committedOffsets(admin, world.groupId, world.topic);
    let edgeNotReady = false;
    let procNotReady = false;
    while (Date.now() - haltedAt < OUTAGE_MS) {
      if ((await httpGet(edge.healthPort, '/readyz'))?.status === 503) edgeNotReady = true;
      if ((await httpGet(proc.healthPort, '/readyz'))?.status === 503) procNotReady = true;
      await sleep(250);
    }
    const committedLate = await committedOffsets(admin, world.groupId, world.topic);
    expect(proc.alive() && edge.alive()).toBe(true);
    await redis.resume();
    await producer;
    expect(producing).toBe(false);
    await waitConsumed(admin, world.groupId, world.topic, 120_000);

    expect(edgeNotReady).toBe(true);
    expect(procNotReady).toBe(true);
    expect([...committedLate]).toEqual([...committedEarly]);
    expect(proc.alive() && edge.alive()).toBe(true);
    const restarts = sumOf(await scrape(proc.healthPort), 'playpulse_processor_consumer_restarts_total');
    const retries = sumOf(await scrape(proc.healthPort), 'playpulse_processor_redis_retries_total');

    const actual = await readPlayerStates(world.redis, world.keyPrefix, await scanPlayersWithState(world.redis, world.keyPrefix));
    const check = assertAppliedOnce(expectedStates(stream), actual);
    await admin.disconnect();
    console.log(
      `Redis outage ${OUTAGE_MS / 1000}s: ${stream.length} records (${stream.filter((s) => s.resend).length} resends); committed frozen during the outage at ${[...committedLate.values()].reduce((a, b) => a + b, 0n)}; ` +
        `applied exactly (${check.players} players); not-ready edge ${edgeNotReady} processors ${procNotReady}; consumer restarts ${restarts}, redis retries ${retries}; same pids; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, SOAK_TIMEOUT_MS ?? 240_000);
});
