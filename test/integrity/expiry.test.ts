/**
 * Fault: a delayed expiry job across a Redis reconnect. Offers with a 4 s ttl are made, then
 * Redis (dedicated, AOF `always`) is stopped and restarted before they are due. Each
 * offer's expiry fires once — one `expired` response recorded, none twice — and never
 * early: the offer stays in the pending inbox until its `expiresAt`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playerKeys } from '../../lib/keys.ts';
import { createWorld, type World } from './env.ts';
import { integrityKafka, produceRecords, waitConsumed } from './kafka-tools.ts';
import { readPlayerLedger, type LedgerEntry } from './readers.ts';
import { toRecord } from './stream.ts';
import { startRoles, waitFor } from '../faults/processes.ts';
import { scrape, sumOf } from '../faults/metrics.ts';
import { startDedicatedRedis, type DedicatedRedis } from '../faults/services.ts';
import { sleep } from '../../lib/time.ts';

describe('a delayed expiry job across a Redis reconnect', () => {
  let redis: DedicatedRedis;
  let world: World;
  beforeAll(async () => {
    redis = await startDedicatedRedis('always');
    world = createWorld({ redisUrl: redis.url });
    await world.createTopics();
  });
  afterAll(async () => {
    await world.cleanup();
    await redis.stop();
  });

  it('fires once and never early', async () => {
    const players = Array.from({ length: 5 }, (_, i) => `pexp${i}`);
    const proc = await startRoles('processors,offers', world.env);
    world.processes.push(proc);
    const kafka = integrityKafka(world.brokers);
    const admin = kafka.admin();
    await admin.connect();
    await produceRecords(kafka, world.topic, players.map((p) => toRecord(p, { id: `${p}-buy`, type: 'shop.purchase', data: { sku: 'expiry.test', coins: 1 } })));
    await waitConsumed(admin, world.groupId, world.topic);
    await admin.disconnect();
    const ledger = new Map<string, LedgerEntry>();
    for (const p of players) {
      const [entry] = await readPlayerLedger(world.redis, world.keyPrefix, p);
      if (entry) ledger.set(p, entry);
    }
    expect(ledger.size).toBe(players.length);

    await redis.halt();
    await sleep(1_500);
    await redis.resume();

    const goneAt = new Map<string, number>();
    await waitFor('every offer to leave its inbox', async () => {
      for (const [p, entry] of ledger) {
        if (goneAt.has(p)) continue;
        const score = await world.redis.zscore(playerKeys(world.keyPrefix, p).inbox, entry.offerId);
        if (score === null) goneAt.set(p, Date.now());
      }
      return goneAt.size === ledger.size ? true : undefined;
    }, 60_000, 50);
    await waitFor('every expiry to be recorded', async () => {
      for (const p of players) {
        const [entry] = await readPlayerLedger(world.redis, world.keyPrefix, p);
        if (entry?.responses.expired === undefined) return undefined;
      }
      return true;
    }, 30_000, 100);
    await sleep(2_000);

    for (const [p, entry] of ledger) expect(goneAt.get(p)).toBeGreaterThanOrEqual(entry.expiresAt);
    const samples = await scrape(proc.healthPort);
    const ok = sumOf(samples, 'playpulse_offers_responses_total', { kind: 'expired', result: 'ok' });
    const dup = sumOf(samples, 'playpulse_offers_responses_total', { kind: 'expired', result: 'dup' });
    const early = sumOf(samples, 'playpulse_offers_responses_total', { kind: 'expired', result: 'early' });
    expect(ok).toBe(players.length);
    expect(dup).toBe(0);
    expect(proc.alive()).toBe(true);
    const lateness = [...ledger].map(([p, e]) => (goneAt.get(p) ?? 0) - e.expiresAt);
    console.log(`expiry across a Redis restart: ${players.length} offers (ttl 4 s) expired once each (ok ${ok}, dup ${dup}, refused early ${early}); removed ${Math.min(...lateness)}..${Math.max(...lateness)} ms after expiresAt`);
  }, 120_000);
});
