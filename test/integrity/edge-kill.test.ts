/**
 * Fault: SIGKILL an edge while its clients have frames in flight. The clients reconnect to
 * the other edge and resend their outbox. Every event any edge acked is in Kafka under its
 * player; every event is applied exactly once although some were stored twice.
 */
import { describe, expect, it } from 'vitest';
import { signPlayerToken } from '../../edge/auth.ts';
import { assertAppliedOnce, assertNoLostAcks, type AckedEvent } from './checks.ts';
import { AUTH_SECRET, useWorld } from './env.ts';
import { integrityKafka, waitConsumed } from './kafka-tools.ts';
import { readPlayerStates, readTopicRecords, scanPlayersWithState } from './readers.ts';
import { expectedStates, randomEvent, rng } from './stream.ts';
import { startRoles, waitFor } from '../faults/processes.ts';
import { SimulatedPlayer } from '../faults/player.ts';

const PLAYERS = 60;
const EVENTS_PER_PLAYER = 80;

describe('SIGKILL an edge with frames in flight', () => {
  const world = useWorld();

  it('loses no acked event and applies resent events once', async () => {
    const t0 = Date.now();
    const [edgeA, edgeB, proc] = await Promise.all([
      startRoles('edge', { ...world().env, PLAYPULSE_INSTANCE_ID: 'edge-a' }),
      startRoles('edge', { ...world().env, PLAYPULSE_INSTANCE_ID: 'edge-b' }),
      startRoles('processors', world().env),
    ]);
    world().processes.push(edgeA, edgeB, proc);
    const url = (port: number) => `ws://127.0.0.1:${port}/v1/play`;

    const next = rng(31);
    const players = await Promise.all(
      Array.from({ length: PLAYERS }, async (_, i) => {
        const id = `pe${i}`;
        const events = Array.from({ length: EVENTS_PER_PLAYER }, (_, k) => randomEvent(next, `${id}-e${k}`));
        return new SimulatedPlayer(id, await signPlayerToken(AUTH_SECRET, id, 3600), [url(edgeA.healthPort), url(edgeB.healthPort)], events, {
          window: 20,
          batch: 4,
          pauseMs: 5,
        });
      }),
    );
    const running = players.map((p) => p.run(150_000));
    const total = PLAYERS * EVENTS_PER_PLAYER;
    await waitFor('40% of the events to be acked', () => (players.reduce((n, p) => n + p.acked.size, 0) >= total * 0.4 ? true : undefined), 120_000, 10);
    const ackedBeforeKill = players.reduce((n, p) => n + p.acked.size, 0);
    edgeA.kill('SIGKILL');
    await Promise.all(running);

    const acked: AckedEvent[] = players.flatMap((p) => [...p.acked].map((id) => ({ player: p.player, id })));
    expect(acked).toHaveLength(total);
    const records = await readTopicRecords(world().brokers, world().topic);
    const lost = assertNoLostAcks(acked, records);

    const admin = integrityKafka(world().brokers).admin();
    await admin.connect();
    await waitConsumed(admin, world().groupId, world().topic);
    await admin.disconnect();
    const expected = expectedStates(players.flatMap((p) => p.events.map((event) => ({ player: p.player, event }))));
    const actual = await readPlayerStates(world().redis, world().keyPrefix, await scanPlayersWithState(world().redis, world().keyPrefix));
    assertAppliedOnce(expected, actual);

    const sum = (f: (p: SimulatedPlayer) => number) => players.reduce((n, p) => n + f(p), 0);
    console.log(
      `edge SIGKILL: ${PLAYERS} players, ${total} distinct events; sent ${sum((p) => p.stats.eventsSent)} (resent ${sum((p) => p.stats.resent)}) in ${sum((p) => p.stats.framesSent)} frames; ` +
        `acked ${lost.acked} (${ackedBeforeKill} before the kill); records in Kafka ${records.length} (${records.length - total} duplicates); ` +
        `applied ${[...expected.values()].reduce((n, s) => n + Number(s.events_total), 0)}; reconnects ${sum((p) => p.stats.reconnects)}; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, 240_000);
});
