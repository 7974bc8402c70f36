/**
 * Fault: kill -9 (SIGKILL) of the only broker (a dedicated single-node KRaft broker) under
 * load, no clean shutdown, then restarted on the same data folder after a few seconds: it
 * recovers its log from what the dead process left. No false ack: every event acked before
 * the kill, and every one acked at all, is in the topic after the restart, under its player,
 * as acked. Clients resend their outboxes and all finish; the edge and processors ride it out
 * (same pids) and processors apply every event exactly once.
 */
import { describe, expect, it } from 'vitest';
import { assertNoLostAcks, type AckedEvent } from './checks.ts';
import { ackedEvents, assertPlayersAppliedOnce, simulatedPlayers, startPipeline, useDedicatedKafkaWorld } from './players.ts';
import { readTopicRecords } from './readers.ts';
import { httpGet, waitFor } from '../faults/processes.ts';
import type { SimulatedPlayer } from '../faults/player.ts';
import { scrape, sumOf } from '../faults/metrics.ts';
import { sleep } from '../../lib/time.ts';

const SOAK = process.env.PLAYPULSE_SOAK === '1';
const DOWN_MS = SOAK ? 30_000 : 5_000;
const CLIENTS = SOAK ? 200 : 30;
const EVENTS_PER_CLIENT = SOAK ? 1_000 : 150;

/** Soak sizes take longer than the CI budget allows a test; without a soak, the CI timeout. */
const SOAK_TIMEOUT_MS = SOAK ? 3_600_000 : undefined;

describe('kill -9 of the only Kafka broker under load', () => {
  const made = useDedicatedKafkaWorld();

  it('acks nothing it loses: every acked event is stored after the restart, applied once', async () => {
    const t0 = Date.now();
    const { kafka, world } = made();
    const { edge, proc, url } = await startPipeline(world);
    const players = await simulatedPlayers(url, { prefix: 'pkkill', count: CLIENTS, eventsEach: EVENTS_PER_CLIENT, seed: 81, options: { window: 20, batch: 5, pauseMs: 20 } });
    const running = players.map((p) => p.run(DOWN_MS + 180_000));
    const total = players.reduce((n, p) => n + p.events.length, 0);
    const sum = (f: (p: SimulatedPlayer) => number) => players.reduce((n, p) => n + f(p), 0);
    const acked = () => sum((p) => p.acked.size);
    await waitFor('a third of the events to be acked', () => (acked() >= total / 3 ? true : undefined), 90_000, 10);

    await kafka.kill();
    const killedAt = Date.now();
    // Acks the clients hold now were sent before the broker died (their acks may still be in
    // a socket buffer: those only add to the set below as they arrive, never remove).
    await sleep(200);
    const ackedAtKill: AckedEvent[] = players.flatMap((p) => [...p.acked].map((id) => ({ player: p.player, id })));
    let notReadySeen = false;
    while (Date.now() - killedAt < DOWN_MS) {
      if ((await httpGet(edge.healthPort, '/readyz'))?.status === 503) notReadySeen = true;
      await sleep(250);
    }
    const ackedWhileDown = acked() - ackedAtKill.length;
    await kafka.resume();
    const restartedAt = Date.now();

    // Read the topic before anything else is sent: what the restarted broker recovered.
    const recovered = await readTopicRecords(world.brokers, world.topic);
    const beforeKill = assertNoLostAcks(ackedAtKill, recovered);

    await Promise.all(running);
    const recoveredIn = Date.now() - restartedAt;
    expect(edge.alive() && proc.alive()).toBe(true);
    expect(notReadySeen).toBe(true);

    const records = await readTopicRecords(world.brokers, world.topic);
    const all = assertNoLostAcks(ackedEvents(players), records);
    expect(all.acked).toBe(total);
    const applied = await assertPlayersAppliedOnce(world, players);

    const replacements = sumOf(await scrape(edge.healthPort), 'playpulse_kafka_producer_replacements_total');
    const restarts = sumOf(await scrape(proc.healthPort), 'playpulse_processor_consumer_restarts_total');
    console.log(
      `Kafka broker SIGKILL, down ${DOWN_MS / 1000}s, ${CLIENTS} clients: ${total} distinct events; sent ${sum((p) => p.stats.eventsSent)} (resent ${sum((p) => p.stats.resent)}, unavailable ${sum((p) => p.stats.unavailable)}, reconnects ${sum((p) => p.stats.reconnects)}); ` +
        `acked ${all.acked} (${beforeKill.acked} before the kill, all in the recovered log of ${recovered.length} records; ${ackedWhileDown} while down); ` +
        `records ${records.length} (${records.length - total} copies of refused events); producer replaced ${replacements}×, consumer restarts ${restarts}; ` +
        `all clients done ${(recoveredIn / 1000).toFixed(1)} s after the restart; applied ${total} (${applied.players} players); not-ready seen ${notReadySeen}; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, SOAK_TIMEOUT_MS ?? 300_000);
});
