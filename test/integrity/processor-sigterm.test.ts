/**
 * Fault: SIGTERM a processor in the middle of a batch. It exits cleanly (code 0), and its
 * committed position equals what it applied: for every partition, committed offset = one
 * past the highest offset any player's watermark records (the apply script advances the
 * watermark with every applied or duplicate event, atomically with the state).
 */
import { describe, expect, it } from 'vitest';
import { playerKeys } from '../../lib/keys.ts';
import { assertAppliedOnce, assertCommittedEqualsApplied } from './checks.ts';
import { useWorld, type World } from './env.ts';
import { committedOffsets, integrityKafka, produceRecords, waitConsumed } from './kafka-tools.ts';
import { readPlayerStates, scanPlayersWithState } from './readers.ts';
import { expectedStates, generateStream, toRecord } from './stream.ts';
import { startRoles, waitFor } from '../faults/processes.ts';
import { scrape, sumOf } from '../faults/metrics.ts';
import { sleep } from '../../lib/time.ts';
import { positionOffset } from '../../protocol/record.ts';

describe('SIGTERM a processor mid-batch', () => {
  const world = useWorld();

  it('exits cleanly with its committed position equal to what it applied', async () => {
    const players = Array.from({ length: 400 }, (_, i) => `pt${i}`);
    const stream = generateStream({ players, perPlayer: 50, seed: 21, resendShare: 0.02 });
    const kafka = integrityKafka(world().brokers);
    const admin = kafka.admin();
    await admin.connect();
    const records = stream.map((s) => toRecord(s.player, s.event));
    const half = Math.floor(records.length / 2);
    await produceRecords(kafka, world().topic, records.slice(0, half));

    const p = await startRoles('processors', world().env);
    world().processes.push(p);
    const rest = (async () => {
      for (let i = half; i < records.length; i += 200) {
        await produceRecords(kafka, world().topic, records.slice(i, i + 200));
        await sleep(50);
      }
    })();
    const appliedAtSignal = await waitFor('the processor to be applying the second half', async () => {
      const n = sumOf(await scrape(p.healthPort), 'playpulse_processor_events_applied_total');
      return n > half + 1_000 ? n : undefined;
    }, 120_000, 20);
    p.kill('SIGTERM');
    const exit = await p.exited;
    await rest;
    expect(exit).toEqual({ code: 0, signal: null });

    const committed = await committedOffsets(admin, world().groupId, world().topic);
    const applied = await appliedPositions(world(), players);
    const check = assertCommittedEqualsApplied(committed, applied);
    const committedTotal = [...committed.values()].reduce((a, b) => a + b, 0n);

    const resumed = await startRoles('processors', world().env);
    world().processes.push(resumed);
    await waitConsumed(admin, world().groupId, world().topic);
    const actual = await readPlayerStates(world().redis, world().keyPrefix, await scanPlayersWithState(world().redis, world().keyPrefix));
    assertAppliedOnce(expectedStates(stream), actual);
    await admin.disconnect();
    console.log(
      `processor SIGTERM: sent ${stream.length}; applied ≈${appliedAtSignal} when signalled${appliedAtSignal < stream.length ? ' (mid-stream)' : ''}; committed ${committedTotal} on ${check.partitions} partitions = applied; exit ${JSON.stringify(exit)}; resumed and exact`,
    );
  });
});

/** Partition -> one past the highest offset recorded in any player's watermark. */
async function appliedPositions(world: World, players: readonly string[]): Promise<Map<number, bigint>> {
  const out = new Map<number, bigint>();
  for (const player of players) {
    const wm = await world.redis.hgetall(playerKeys(world.keyPrefix, player).watermark);
    for (const [partition, offset] of Object.entries(wm)) {
      const next = BigInt(positionOffset(offset)) + 1n;
      const p = Number(partition);
      if (next > (out.get(p) ?? 0n)) out.set(p, next);
    }
  }
  return out;
}
