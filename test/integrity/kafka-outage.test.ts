/**
 * Fault: the Kafka broker stopped for 10 s under load, then restarted (a dedicated broker,
 * so the run's shared broker stays up). Nothing is acked that is not stored; the edge's
 * in-flight bytes stay under their bound and its memory stays bounded; the edge reports
 * not-ready while the broker is gone; every acked event arrives and processors resume to
 * the exact state.
 */
import { describe, expect, it } from 'vitest';
import { assertNoLostAcks } from './checks.ts';
import { ackedEvents, assertPlayersAppliedOnce, simulatedPlayers, startPipeline, useDedicatedKafkaWorld } from './players.ts';
import { readTopicRecords } from './readers.ts';
import { httpGet, rssBytes, waitFor } from '../faults/processes.ts';
import type { SimulatedPlayer } from '../faults/player.ts';
import { scrape, sumOf } from '../faults/metrics.ts';
import { sleep } from '../../lib/time.ts';

const OUTAGE_MS = process.env.PLAYPULSE_SOAK === '1' ? 60_000 : 10_000;
const INFLIGHT_GLOBAL = 2 * 1024 * 1024;

/** Soak sizes take longer than the CI budget allows a test; without a soak, the CI timeout. */
const SOAK_TIMEOUT_MS = process.env.PLAYPULSE_SOAK === '1' ? 3_600_000 : undefined;

describe('Kafka broker stopped for 10 s under load', () => {
  const made = useDedicatedKafkaWorld({ PLAYPULSE_INFLIGHT_BYTES_GLOBAL: String(INFLIGHT_GLOBAL), PLAYPULSE_INFLIGHT_BYTES_PER_CONN: String(256 * 1024) });

  it('acks nothing unstored, stays bounded, and delivers everything acked after the restart', async () => {
    const t0 = Date.now();
    const { kafka, world } = made();
    const { edge, url } = await startPipeline(world);
    const players = await simulatedPlayers(url, { prefix: 'pkafka', count: 20, eventsEach: 120, seed: 51, options: { window: 20, batch: 5, pauseMs: 20 } });
    const running = players.map((p) => p.run(OUTAGE_MS + 150_000));
    const total = players.reduce((n, p) => n + p.events.length, 0);
    const acked = () => players.reduce((n, p) => n + p.acked.size, 0);
    await waitFor('a quarter of the events to be acked', () => (acked() >= total / 4 ? true : undefined), 60_000, 20);

    const rssBefore = rssBytes(edge.pid);
    await kafka.halt();
    const haltedAt = Date.now();
    const ackedAtHalt = acked();
    let notReadySeen = false;
    let maxInflight = 0;
    let maxRss = rssBefore;
    while (Date.now() - haltedAt < OUTAGE_MS) {
      const ready = await httpGet(edge.healthPort, '/readyz');
      if (ready?.status === 503) notReadySeen = true;
      maxInflight = Math.max(maxInflight, sumOf(await scrape(edge.healthPort), 'playpulse_edge_inflight_bytes'));
      maxRss = Math.max(maxRss, rssBytes(edge.pid));
      await sleep(250);
    }
    const ackedDuringOutage = acked() - ackedAtHalt;
    await kafka.resume();
    await Promise.all(running);

    expect(edge.alive()).toBe(true);
    expect(notReadySeen).toBe(true);
    expect(maxInflight).toBeLessThanOrEqual(INFLIGHT_GLOBAL);
    expect(maxRss - rssBefore).toBeLessThan(150 * 1024 * 1024);

    const records = await readTopicRecords(world.brokers, world.topic);
    const lost = assertNoLostAcks(ackedEvents(players), records);
    expect(lost.acked).toBe(total);
    await assertPlayersAppliedOnce(world, players);

    const replacements = sumOf(await scrape(edge.healthPort), 'playpulse_kafka_producer_replacements_total');
    const sum = (f: (p: SimulatedPlayer) => number) => players.reduce((n, p) => n + f(p), 0);
    console.log(
      `Kafka outage ${OUTAGE_MS / 1000}s: ${total} distinct events; sent ${sum((p) => p.stats.eventsSent)} (resent ${sum((p) => p.stats.resent)}, unavailable ${sum((p) => p.stats.unavailable)}); ` +
        `acked ${lost.acked} (${ackedAtHalt} before the stop, ${ackedDuringOutage} while stopped — acks of records the broker took before it stopped); ` +
        `records ${records.length} (${records.length - total} copies of refused events the broker had written, resent); producer replaced ${replacements}×; applied ${total}; edge max in-flight ${maxInflight} B (bound ${INFLIGHT_GLOBAL}), RSS ${(rssBefore / 1048576).toFixed(0)} → max ${(maxRss / 1048576).toFixed(0)} MiB; ` +
        `not-ready seen ${notReadySeen}; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, SOAK_TIMEOUT_MS ?? 300_000);
});
