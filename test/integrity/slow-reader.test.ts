/**
 * Fault: a WebSocket client that stops reading while the edge keeps writing to it (pongs of
 * large pings). Its send buffer stays bounded — the edge drops it and closes the socket
 * at the backpressure limit — the edge's memory stays bounded, and a normal client on the
 * same edge keeps getting every ack meanwhile.
 */
import { encode } from '@msgpack/msgpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signPlayerToken } from '../../edge/auth.ts';
import { assertNoLostAcks } from './checks.ts';
import { AUTH_SECRET, createWorld, type World } from './env.ts';
import { readTopicRecords } from './readers.ts';
import { randomEvent, rng } from './stream.ts';
import { rssBytes, startRoles, waitFor } from '../faults/processes.ts';
import { TestClient } from '../faults/client.ts';
import { SimulatedPlayer } from '../faults/player.ts';
import { scrape, sumOf } from '../faults/metrics.ts';
import { sleep } from '../../lib/time.ts';

const BACKPRESSURE = 64 * 1024;

describe('a slow-reading WebSocket client', () => {
  let world: World;
  beforeAll(async () => {
    world = createWorld({ env: { PLAYPULSE_MAX_BACKPRESSURE_BYTES: String(BACKPRESSURE), PLAYPULSE_RATE_PER_SEC: '100000', PLAYPULSE_RATE_BURST: '100000' } });
    await world.createTopics();
  });
  afterAll(async () => {
    await world.cleanup();
  });

  it('is closed at its buffer limit while other clients are unaffected', async () => {
    const edge = await startRoles('edge', world.env);
    world.processes.push(edge);
    const url = `ws://127.0.0.1:${edge.healthPort}/v1/play`;
    const slow = await TestClient.connect(url, await signPlayerToken(AUTH_SECRET, 'slowpoke', 3600), { paused: true });
    slow.ws.pause();
    const next = rng(81);
    const events = Array.from({ length: 400 }, (_, k) => randomEvent(next, `fast-e${k}`));
    const fast = new SimulatedPlayer('fast', await signPlayerToken(AUTH_SECRET, 'fast', 3600), [url], events, { window: 20, batch: 5, pauseMs: 10 });
    const fastRun = fast.run(120_000);

    const rssBefore = rssBytes(edge.pid);
    const ping = encode({ t: 'ping', n: 'x'.repeat(32 * 1024) });
    let pingsSent = 0;
    let maxRss = rssBefore;
    const closedByEdge = async () => sumOf(await scrape(edge.healthPort), 'playpulse_edge_backpressure_drops_total') > 0;
    for (let round = 0; round < 200 && !(await closedByEdge()); round++) {
      for (let i = 0; i < 20; i++) {
        slow.ws.send(ping);
        pingsSent += 1;
      }
      maxRss = Math.max(maxRss, rssBytes(edge.pid));
      await sleep(20);
    }
    await waitFor('the edge to drop the slow reader', async () => ((await closedByEdge()) ? true : undefined), 30_000);
    const samples = await scrape(edge.healthPort);
    const closes1008 = sumOf(samples, 'playpulse_edge_closes_total', { code: '1008' });
    slow.ws.resume();
    await slow.closed;
    await fastRun;

    expect(closes1008).toBeGreaterThanOrEqual(1);
    expect(slow.closeCode === 1008 || slow.closeCode === 1006).toBe(true);
    expect(maxRss - rssBefore).toBeLessThan(100 * 1024 * 1024);
    expect(edge.alive()).toBe(true);
    const records = await readTopicRecords(world.brokers, world.topic);
    const acked = assertNoLostAcks([...fast.acked].map((id) => ({ player: 'fast', id })), records);
    expect(acked.acked).toBe(events.length);
    console.log(
      `slow reader: ${pingsSent} pings of 32 KiB (${((pingsSent * 32) / 1024).toFixed(0)} MiB of pongs owed) until dropped; backpressure limit ${BACKPRESSURE} B; ` +
        `slow client closed with ${slow.closeCode}; edge RSS ${(rssBefore / 1048576).toFixed(0)} → max ${(maxRss / 1048576).toFixed(0)} MiB; other client: ${acked.acked}/${events.length} acked and stored`,
    );
  }, 180_000);
});
