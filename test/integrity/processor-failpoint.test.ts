/**
 * Fault: a processor SIGKILLs itself exactly where it hurts — through the test-only fail
 * point PLAYPULSE_FAILPOINT (docs/operations.md §7), always before the chunk's offset is
 * resolved or committed: right after its decide step (state applied, offers recorded and
 * published to the edge, lifecycle jobs queued); between the decide write that recorded
 * offers and their routing to the edge; or right after the apply write, before the decide.
 * Players stay connected over real WebSockets to a real edge the whole time. A processor
 * restarted on the same slot (it evicts the dead member) takes the redelivered chunk over.
 * Then: every player's state is exact; every loss made exactly one offer, recorded once; the
 * budget held; and every socket received every offer of its player exactly once — none
 * missing (an offer recorded but never routed is routed by the redelivery), none twice (the
 * edge pushes an offer once per socket).
 */
import { describe, expect, it } from 'vitest';
import { signPlayerToken } from '../../edge/auth.ts';
import { offerIdFor } from '../../offers/engine/hashing.ts';
import { playerKeys } from '../../lib/keys.ts';
import { assertAppliedOnce, assertAtMostOneOfferPerTrigger, assertBudgetNotExceeded, assertDeliveredOnce, type Delivery } from './checks.ts';
import { AUTH_SECRET, useWorld, type World } from './env.ts';
import { committedOffsets, integrityKafka, waitConsumed } from './kafka-tools.ts';
import { collectOffers, lifetimeOffers, readPlayerOffers, readPlayerStates, scanPlayersWithState } from './readers.ts';
import { distinctLevelUps, expectedLossTriggers, expectedStates, randomEvent, rng } from './stream.ts';
import { spawnRoles, startRoles, waitFor } from '../faults/processes.ts';
import { TestClient, type WireEvent } from '../faults/client.ts';
import { scrape, sumOf } from '../faults/metrics.ts';
import type { FailPointStep } from '../../lib/config.ts';
import { DAY_MS } from '../../processors/state.ts';
import { positionOffset } from '../../protocol/record.ts';

const SOAK = process.env.PLAYPULSE_SOAK === '1';
const PLAYERS = SOAK ? 400 : 40;
/** Events per player and phase: before the kill (committed), the killed chunk, after the restart. */
const PER_PHASE = SOAK ? 100 : 25;
const SOAK_TIMEOUT_MS = SOAK ? 3_600_000 : undefined;
const BUDGET = { ruleId: 'level-budget', count: 25, per: 'day' } as const;

/** One player: one socket for the whole test, its events in three phases, seq 1.. on its stream. */
interface Player {
  readonly id: string;
  readonly client: TestClient;
  readonly phases: readonly (readonly WireEvent[])[];
}

describe.each<Exclude<FailPointStep, 'after-claim'>>(['after-decide', 'after-record', 'after-apply'])('SIGKILL a processor at its fail point %s', (step) => {
  const world = useWorld();

  it('keeps state exact and delivers each offer to each socket exactly once', async () => {
    const t0 = Date.now();
    const w = world();
    const slot = `fp-${step}`;
    const [edge, first] = await Promise.all([startRoles('edge', w.env), startRoles('processors', { ...w.env, PLAYPULSE_PROCESSOR_SLOT: slot })]);
    w.processes.push(edge, first);
    const url = `ws://127.0.0.1:${edge.healthPort}/v1/play`;

    const next = rng({ 'after-decide': 71, 'after-record': 72, 'after-apply': 73 }[step]);
    const players: Player[] = await Promise.all(
      Array.from({ length: PLAYERS }, async (_, i): Promise<Player> => {
        const id = `pf${i}`;
        const phases = [0, 1, 2].map((phase) =>
          Array.from({ length: PER_PHASE }, (_, k): WireEvent => {
            // The killed chunk holds a loss of every player: the chunk is sure to make offers.
            const e = phase === 1 && k === 0 ? { id: `${id}-p1e0`, type: 'match.end', data: { result: 'loss', duration_s: 60 } } : randomEvent(next, `${id}-p${phase}e${k}`, { lossShare: 0.3, levelShare: 0.04 });
            return { ...e, seq: phase * PER_PHASE + k + 1 };
          }),
        );
        const client = await TestClient.connect(url, await signPlayerToken(AUTH_SECRET, id, 3600), { stream: `${step}-${i}` });
        return { id, client, phases };
      }),
    );
    const sendPhase = async (phase: number) => {
      await Promise.all(
        players.map(async (p) => {
          const events = p.phases[phase] as readonly WireEvent[];
          for (let i = 0; i < events.length; i += 10) p.client.sendEvents(events.slice(i, i + 10));
          await p.client.until(() => events.every((e) => p.client.acked.has(e.id)) || !p.client.open, 60_000);
          expect(p.client.open, `${p.id}: socket closed (${p.client.closeCode})`).toBe(true);
        }),
      );
    };
    const admin = integrityKafka(w.brokers).admin();
    await admin.connect();

    // Phase 0: decided and committed by a processor that stops cleanly.
    await sendPhase(0);
    await waitConsumed(admin, w.groupId, w.topic);
    expect((await first.stop()).code).toBe(0);
    const committedBefore = await committedOffsets(admin, w.groupId, w.topic);

    // Phase 1: stored in Kafka while no processor runs, so the killed process's first chunks hold all of it.
    await sendPhase(1);
    const killed = await spawnRoles('processors', { ...w.env, PLAYPULSE_PROCESSOR_SLOT: slot, PLAYPULSE_FAILPOINT: `${step}:1` });
    w.processes.push(killed);
    const exit = await waitFor('the fail point to kill the processor', async () => (killed.alive() ? undefined : killed.exited), 90_000, 50);
    expect(exit.signal, killed.output().slice(-4_000)).toBe('SIGKILL');
    expect(killed.output()).toContain(`PLAYPULSE_FAILPOINT ${step}:1 reached`);
    const committedAtKill = await committedOffsets(admin, w.groupId, w.topic);
    expect(committedAtKill).toEqual(committedBefore);
    const appliedAtKill = await appliedBeyondCommit(w, players.map((p) => p.id));
    expect(appliedAtKill).toBeGreaterThan(0n);
    const phase1Losses = players.flatMap((p) => (p.phases[1] as readonly WireEvent[]).filter(isLoss).map((e) => ({ player: p.id, offerId: offerIdFor('loss-offer', p.id, e.id) })));
    const recorded = await Promise.all(phase1Losses.map(async (o) => (await w.redis.hexists(playerKeys(w.keyPrefix, o.player).offers, o.offerId)) === 1));
    const recordedAtKill = recorded.filter(Boolean).length;
    // Recorded but never routed: only a redelivery that routes pending offers again gets these to the sockets.
    const byId = new Map(players.map((p) => [p.id, p]));
    const unroutedAtKill = phase1Losses.filter((o, k) => recorded[k] && !byId.get(o.player)?.client.offers.some((x) => x.id === o.offerId)).length;
    if (step === 'after-apply') expect(recordedAtKill).toBe(0);
    else expect(recordedAtKill).toBeGreaterThan(0);
    if (step === 'after-record') expect(unroutedAtKill).toBeGreaterThan(0);

    // The restart on the same slot evicts the dead member and takes the redelivered chunks over; phase 2 is live.
    const second = await startRoles('processors', { ...w.env, PLAYPULSE_PROCESSOR_SLOT: slot });
    w.processes.push(second);
    await sendPhase(2);
    await waitConsumed(admin, w.groupId, w.topic, SOAK_TIMEOUT_MS ?? 120_000);
    await admin.disconnect();

    // Exact state: every event counted once.
    const sent = players.flatMap((p) => p.phases.flat().map((event) => ({ player: p.id, event })));
    const expected = expectedStates(sent);
    const actual = await readPlayerStates(w.redis, w.keyPrefix, await scanPlayersWithState(w.redis, w.keyPrefix));
    const applyCheck = assertAppliedOnce(expected, actual);

    // Offers: exactly the losses' offer ids (plus the budgeted level-ups), each counted once.
    const triggers = expectedLossTriggers(sent);
    const ids = players.map((p) => p.id);
    const made = await lifetimeOffers(w.redis, w.keyPrefix, ids, 'loss-offer');
    const stored = new Map<string, Set<string>>();
    const storedBudget: string[] = [];
    for (const p of players) {
      const { offers } = await readPlayerOffers(w.redis, w.keyPrefix, p.id);
      stored.set(p.id, new Set(offers.map((o) => o.id)));
      const wantLoss = (triggers.get(p.id) ?? []).map((e) => offerIdFor('loss-offer', p.id, e)).sort();
      expect(offers.filter((o) => o.ruleId === 'loss-offer').map((o) => o.id).sort(), p.id).toEqual(wantLoss);
      expect(made.get(p.id), p.id).toBe(wantLoss.length);
      expect(offers.filter((o) => o.ruleId !== 'loss-offer' && o.ruleId !== BUDGET.ruleId), p.id).toEqual([]);
      for (const o of offers.filter((x) => x.ruleId === BUDGET.ruleId)) storedBudget.push(o.id);
      // The daily cap's counter: one per offer of its UTC day (offers_day), not one per decision attempt.
      const [today, day] = await w.redis.hmget(playerKeys(w.keyPrefix, p.id).state, 'offers_today', 'offers_day');
      expect(Number(today ?? 0), `${p.id} offers_today`).toBe(offers.filter((o) => Math.floor((o.createdAt ?? 0) / DAY_MS) === Number(day)).length);
    }
    const ledger = await collectOffers(w.redis, w.keyPrefix, ids);
    const offerCheck = assertAtMostOneOfferPerTrigger(ledger);
    for (const o of ledger) expect(stored.get(o.player)?.has(o.offerId), `${o.player}/${o.offerId} in the ledger but not recorded`).toBe(true);
    assertBudgetNotExceeded(ledger, BUDGET);
    const budgetMade = [...(await lifetimeOffers(w.redis, w.keyPrefix, ids, BUDGET.ruleId)).values()].reduce((a, b) => a + b, 0);
    expect(budgetMade).toBe(Math.min(BUDGET.count, distinctLevelUps(sent)));
    expect(storedBudget).toHaveLength(budgetMade);

    // Delivery: each socket gets every offer of its player once. Pub/sub keeps the order of one
    // channel, and every offer goes through this edge's one channel: once the last offer made
    // (phase 2, after the redelivery was decided) has arrived, a second copy of an earlier one
    // would have arrived before it.
    const wanted = [...stored.values()].reduce((n, s) => n + s.size, 0);
    await Promise.all(players.map((p) => p.client.until(() => (stored.get(p.id) as Set<string>).size <= new Set(p.client.offers.map((o) => o.id)).size, 30_000).catch(() => undefined)));
    const deliveries: Delivery[] = players.flatMap((p) => p.client.offers.map((o) => ({ player: p.id, offerId: o.id, connection: p.client.hello?.session ?? p.id })));
    const owners = new Map<string, string>();
    for (const [player, set] of stored) for (const id of set) owners.set(id, player);
    const deliveryCheck = assertDeliveredOnce(deliveries, owners);
    const missing = players.flatMap((p) => [...(stored.get(p.id) as Set<string>)].filter((id) => !p.client.offers.some((o) => o.id === id)).map((id) => `${p.id}/${id}`));
    const strangers = deliveries.filter((d) => !owners.has(d.offerId));
    expect({ missing, strangers }).toEqual({ missing: [], strangers: [] });
    // Copies of offers a socket already had (routed again by the redelivery), which the edge did not push.
    const suppressed = sumOf(await scrape(edge.healthPort), 'playpulse_edge_offers_skipped_total', { reason: 'duplicate' });
    for (const p of players) expect(p.client.open, `${p.id}: socket closed (${p.client.closeCode})`).toBe(true);
    for (const p of players) p.client.close();

    console.log(
      `processor fail point ${step}:1: ${PLAYERS} sockets, ${sent.length} events sent, ${players.reduce((n, p) => n + p.client.acked.size, 0)} acked, ` +
        `applied ${[...expected.values()].reduce((n, s) => n + Number(s.events_total), 0)} (fields checked ${applyCheck.fields}); ` +
        `killed with ${appliedAtKill} applied-but-uncommitted, ${recordedAtKill} of ${phase1Losses.length} loss offers of the killed chunks recorded (${unroutedAtKill} not delivered); ` +
        `offers ${wanted} (loss ${[...made.values()].reduce((a, b) => a + b, 0)}, budget ${budgetMade}/${BUDGET.count}, ledger ${offerCheck.offers}); ` +
        `deliveries ${deliveryCheck.deliveries}, missing 0, twice 0 (${suppressed} second copies suppressed by the edge); ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, SOAK_TIMEOUT_MS ?? 180_000);
});

function isLoss(e: WireEvent): boolean {
  return e.type === 'match.end' && e.data?.result === 'loss';
}

/** Events applied in Redis (per the players' watermarks) beyond the group's committed positions. */
async function appliedBeyondCommit(world: World, players: readonly string[]): Promise<bigint> {
  const applied = new Map<number, bigint>();
  for (const wm of await Promise.all(players.map((p) => world.redis.hgetall(playerKeys(world.keyPrefix, p).watermark)))) {
    for (const [partition, offset] of Object.entries(wm)) {
      if (!/^\d+$/.test(partition)) continue;
      const n = BigInt(positionOffset(offset)) + 1n;
      if (n > (applied.get(Number(partition)) ?? 0n)) applied.set(Number(partition), n);
    }
  }
  const admin = integrityKafka(world.brokers).admin();
  await admin.connect();
  const committed = await committedOffsets(admin, world.groupId, world.topic);
  await admin.disconnect();
  let beyond = 0n;
  for (const [p, a] of applied) {
    const c = committed.get(p) ?? 0n;
    if (a > c) beyond += a - c;
  }
  return beyond;
}
