/**
 * Fault: a reconnect storm. N players (2k in CI, 10k with PLAYPULSE_SOAK=1, or
 * PLAYPULSE_STORM_CLIENTS) each have one pending offer in their inbox; all connect at once,
 * are cut off abruptly, and all connect again at once. The edge stays up, and every socket
 * gets its player's pending offer exactly once — never another player's.
 */
import { describe, expect, it } from 'vitest';
import { signPlayerToken } from '../../edge/auth.ts';
import { assertAtMostOneOfferPerTrigger, assertDeliveredOnce, type Delivery } from './checks.ts';
import { AUTH_SECRET, useWorld } from './env.ts';
import { integrityKafka, produceRecords, waitConsumed } from './kafka-tools.ts';
import { collectOffers } from './readers.ts';
import { toRecord } from './stream.ts';
import { httpGet, startRoles } from '../faults/processes.ts';
import { TestClient } from '../faults/client.ts';
import { scrape } from '../faults/metrics.ts';
import { sleep } from '../../lib/time.ts';

const CLIENTS = Number(process.env.PLAYPULSE_STORM_CLIENTS ?? (process.env.PLAYPULSE_SOAK === '1' ? 10_000 : 2_000));

/** Soak sizes take longer than the CI budget allows a test; without a soak, the CI timeout. */
const SOAK_TIMEOUT_MS = process.env.PLAYPULSE_SOAK === '1' ? 3_600_000 : undefined;

describe(`a reconnect storm of ${CLIENTS} clients`, () => {
  const world = useWorld();

  it('keeps the edge up and delivers each pending offer once per connection', async () => {
    const t0 = Date.now();
    const players = Array.from({ length: CLIENTS }, (_, i) => `pstorm${i}`);
    const [edge, proc] = await Promise.all([startRoles('edge', world().env), startRoles('processors', world().env)]);
    world().processes.push(edge, proc);
    const kafka = integrityKafka(world().brokers);
    await produceRecords(kafka, world().topic, players.map((p) => toRecord(p, { id: `${p}-loss`, type: 'match.end', data: { result: 'loss' } })));
    const admin = kafka.admin();
    await admin.connect();
    await waitConsumed(admin, world().groupId, world().topic);
    await admin.disconnect();
    const offers = await collectOffers(world().redis, world().keyPrefix, players);
    assertAtMostOneOfferPerTrigger(offers);
    expect(offers).toHaveLength(CLIENTS);
    const owners = new Map(offers.map((o) => [o.offerId, o.player]));
    const tokens = await Promise.all(players.map((p) => signPlayerToken(AUTH_SECRET, p, 3600)));
    const url = `ws://127.0.0.1:${edge.healthPort}/v1/play`;

    const deliveries: Delivery[] = [];
    const storm = async (round: number): Promise<{ clients: TestClient[]; ms: number; failed: number }> => {
      const s0 = Date.now();
      const settled = await Promise.allSettled(players.map((_, i) => TestClient.connect(url, tokens[i] as string, { timeoutMs: 60_000 })));
      const clients = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      await Promise.all(clients.map((c) => c.until(() => c.offers.length >= 1, 60_000).catch(() => undefined)));
      await sleep(500);
      for (const c of clients) {
        for (const o of c.offers) deliveries.push({ player: c.hello?.player ?? '?', offerId: o.id, connection: `${c.hello?.session ?? '?'}#${round}` });
      }
      return { clients, ms: Date.now() - s0, failed: settled.length - clients.length };
    };

    const first = await storm(1);
    for (const c of first.clients) c.terminate();
    const second = await storm(2);
    const healthz = await httpGet(edge.healthPort, '/healthz');
    for (const c of second.clients) c.close();

    expect(first.failed + second.failed).toBe(0);
    expect(edge.alive()).toBe(true);
    expect(healthz?.status).toBe(200);
    const check = assertDeliveredOnce(deliveries, owners);
    const perConnection = new Map<string, number>();
    for (const d of deliveries) perConnection.set(d.connection, (perConnection.get(d.connection) ?? 0) + 1);
    const missing = [...first.clients.map((c) => [1, c] as const), ...second.clients.map((c) => [2, c] as const)]
      .filter(([, c]) => c.offers.length === 0)
      .map(([round, c]) => ({ round, player: c.hello?.player, session: c.hello?.session, closeCode: c.closeCode, errors: c.errors }));
    const skipped = await scrape(edge.healthPort);
    expect({ missing, skipped: skipped.filter((x) => x.name === 'playpulse_edge_offers_skipped_total') }).toEqual({ missing: [], skipped: expect.anything() });
    expect(perConnection.size).toBe(2 * CLIENTS);
    expect([...perConnection.values()].every((n) => n === 1)).toBe(true);
    console.log(
      `reconnect storm: ${CLIENTS} clients × 2 storms; connect+offer ${first.ms} ms then ${second.ms} ms; ${check.deliveries} deliveries, each socket its own offer once; edge up; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, SOAK_TIMEOUT_MS ?? 300_000);
});
