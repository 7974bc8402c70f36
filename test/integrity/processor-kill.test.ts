/**
 * Fault: SIGKILL processors between their Redis apply and their Kafka commit, during a
 * stream of ≥ 100k events (30k on the test Redis Cluster; 2% of them resent), two
 * processors in the group. Then every player's state is exact, every loss made exactly one
 * offer, the budgeted rule stayed within its budget.
 */
import { describe, expect, it } from 'vitest';
import { assertAppliedOnce, assertAtMostOneOfferPerTrigger, assertBudgetNotExceeded } from './checks.ts';
import { useWorld, type World } from './env.ts';
import { committedOffsets, groupLag, integrityKafka, produceRecords, waitConsumed } from './kafka-tools.ts';
import { collectOffers, lifetimeOffers, readPlayerStates, scanPlayersWithState } from './readers.ts';
import { distinctLevelUps, expectedLossTriggers, expectedStates, generateStream, toRecord } from './stream.ts';
import { startRoles, waitFor, type RoleProcess } from '../faults/processes.ts';
import { playerKeys } from '../../lib/keys.ts';
import type { Admin } from 'kafkajs';
import { scrape, sumOf } from '../faults/metrics.ts';
import { positionOffset } from '../../protocol/record.ts';

/**
 * PLAYPULSE_INTEGRITY_EVENTS, else 1M with PLAYPULSE_SOAK=1, else 30k on the test Redis
 * Cluster (PLAYPULSE_TEST_REDIS=cluster: the run checks slot routing, which 600 players
 * spread over every master already exercise; the single-Redis run keeps the 100k scale),
 * else 100k.
 */
const EVENTS = Number(
  process.env.PLAYPULSE_INTEGRITY_EVENTS ?? (process.env.PLAYPULSE_SOAK === '1' ? 1_000_000 : process.env.PLAYPULSE_TEST_REDIS === 'cluster' ? 30_000 : 100_000),
);
const PLAYERS = Math.max(100, Math.round(EVENTS / 50));

/** Soak sizes take longer than the CI budget allows a test; without a soak, the CI timeout. */
const SOAK_TIMEOUT_MS = process.env.PLAYPULSE_SOAK === '1' ? 3_600_000 : undefined;

describe('SIGKILL processors mid-stream', () => {
  const world = useWorld();

  it('keeps every player state exact and makes no offer twice', async () => {
    const t0 = Date.now();
    const step = (what: string) => process.env.PLAYPULSE_INTEGRITY_DEBUG && console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}`);
    const players = Array.from({ length: PLAYERS }, (_, i) => `pk${i}`);
    const stream = generateStream({ players, perPlayer: Math.ceil(EVENTS / PLAYERS), seed: 11, resendShare: 0.02, lossShare: 0.1, levelShare: 0.02 });
    const kafka = integrityKafka(world().brokers);
    const admin = kafka.admin();
    await admin.connect();

    const spawnProcessor = async (): Promise<RoleProcess> => {
      const p = await startRoles('processors', world().env);
      world().processes.push(p);
      return p;
    };
    const [a, b] = await Promise.all([spawnProcessor(), spawnProcessor()]);
    step('processors ready');
    const produced = produceRecords(kafka, world().topic, stream.map((s) => toRecord(s.player, s.event)));

    const appliedBy = async (p: RoleProcess) => sumOf(await scrape(p.healthPort), 'playpulse_processor_events_applied_total');
    const target = Math.floor(stream.length * 0.3);
    const appliedAtKill = await waitFor('the group to apply 30% of the stream', async () => {
      const n = (await appliedBy(a)) + (await appliedBy(b));
      return n >= target ? n : undefined;
    }, 180_000, 50);
    a.kill('SIGKILL');
    await a.exited;
    const uncommittedApplied = await appliedBeyondCommit(world(), admin, players);
    step(`killed ${a.pid} at ${appliedAtKill} applied; ${uncommittedApplied} applied events were not yet committed`);
    await spawnProcessor();
    await produced;
    step('produced');
    await waitConsumed(admin, world().groupId, world().topic, SOAK_TIMEOUT_MS ?? 240_000);
    expect(await groupLag(admin, world().groupId, world().topic)).toBe(0n);
    step('consumed');

    const expected = expectedStates(stream);
    const actual = await readPlayerStates(world().redis, world().keyPrefix, await scanPlayersWithState(world().redis, world().keyPrefix));
    const applyCheck = assertAppliedOnce(expected, actual);

    const offers = await collectOffers(world().redis, world().keyPrefix, players);
    const offerCheck = assertAtMostOneOfferPerTrigger(offers);
    const lossOffers = offers.filter((o) => o.ruleId.startsWith('loss-offer'));
    const triggers = expectedLossTriggers(stream);
    const wantLossOffers = [...triggers.values()].reduce((n, ids) => n + ids.length, 0);
    expect(lossOffers.filter((o) => o.ruleId !== 'loss-offer')).toEqual([]);
    // Exactly one offer per loss, per player: the lifetime counters (the ledger keeps only each player's latest 10).
    const made = await lifetimeOffers(world().redis, world().keyPrefix, players, 'loss-offer');
    expect([...made.values()].reduce((a, b) => a + b, 0)).toBe(wantLossOffers);
    for (const p of players) expect(made.get(p), p).toBe(triggers.get(p)?.length ?? 0);
    const budget = assertBudgetNotExceeded(offers, { ruleId: 'level-budget', count: 25, per: 'day' });
    const budgetMade = [...(await lifetimeOffers(world().redis, world().keyPrefix, players, 'level-budget')).values()].reduce((a, b) => a + b, 0);
    expect(budgetMade).toBe(Math.min(25, distinctLevelUps(stream)));

    await admin.disconnect();
    console.log(
      `processor SIGKILL: sent ${stream.length} records (${stream.filter((s) => s.resend).length} resends) for ${players.length} players; ` +
        `applied distinct ${[...expected.values()].reduce((n, s) => n + Number(s.events_total), 0)}; ` +
        `SIGKILL at ${appliedAtKill} applied with ${uncommittedApplied} applied-but-uncommitted; fields checked ${applyCheck.fields}; offers ${offerCheck.offers} (loss ${lossOffers.length}, budget ${budget.offered}/25); ` +
        `${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, SOAK_TIMEOUT_MS ?? 300_000);
});

/** Events applied in Redis (per the players' watermarks) beyond the group's committed positions. */
async function appliedBeyondCommit(world: World, admin: Admin, players: readonly string[]): Promise<bigint> {
  const applied = new Map<number, bigint>();
  for (let i = 0; i < players.length; i += 500) {
    const chunk = players.slice(i, i + 500);
    const wms = await Promise.all(chunk.map((p) => world.redis.hgetall(playerKeys(world.keyPrefix, p).watermark)));
    for (const wm of wms) {
      for (const [partition, offset] of Object.entries(wm)) {
        const next = BigInt(positionOffset(offset)) + 1n;
        if (next > (applied.get(Number(partition)) ?? 0n)) applied.set(Number(partition), next);
      }
    }
  }
  const committed = await committedOffsets(admin, world.groupId, world.topic);
  let beyond = 0n;
  for (const [p, a] of applied) {
    const c = committed.get(p) ?? 0n;
    if (a > c) beyond += a - c;
  }
  return beyond;
}
