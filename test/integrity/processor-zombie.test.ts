/**
 * Fault: a zombie processor. Two processors in the group; one of them stops itself (SIGSTOP,
 * the fail point's `:stop` form, docs/operations.md §7) in the middle of its first chunk —
 * right after the apply write (`after-apply`: state written, nothing decided, nothing
 * committed), or right after its decide step claimed budget units, before the player writes
 * that record the decisions (`after-claim`). It stays stopped past its session timeout, so
 * the group takes its partitions away and the other processor applies and decides the
 * redelivered chunk and the events that follow, for the same players. Then it is continued
 * (SIGCONT) and finishes the chunk it still holds, as a member the group no longer knows.
 *
 * Then: every player's state is exact (the zombie's late apply and decide found everything
 * done: offsets and decided markers fence it); every loss made exactly one offer; no trigger
 * has two; the budgeted rule made exactly its budget and its claim set holds exactly the
 * offers made (the zombie gave back no unit of an offer the other processor had recorded);
 * the committed offsets never went back while the zombie finished (Kafka refuses its commits:
 * wrong generation) and, after both stop cleanly, equal what was applied.
 */
import { readFileSync } from 'node:fs';
import { AssignerProtocol } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { offerIdFor } from '../../offers/engine/hashing.ts';
import { budgetWindowStart } from '../../offers/engine/limits.ts';
import { offerKeys, playerKeys } from '../../lib/keys.ts';
import { DAY_MS } from '../../processors/state.ts';
import type { FailPointStep } from '../../lib/config.ts';
import { assertAppliedOnce, assertAtMostOneOfferPerTrigger, assertBudgetNotExceeded, assertCommittedEqualsApplied } from './checks.ts';
import { useWorld, type World } from './env.ts';
import { committedOffsets, highWatermarks, integrityKafka, produceRecords, waitConsumed } from './kafka-tools.ts';
import { collectOffers, lifetimeOffers, readPlayerOffers, readPlayerStates, scanPlayersWithState } from './readers.ts';
import { distinctLevelUps, expectedLossTriggers, expectedStates, randomEvent, rng, toRecord } from './stream.ts';
import { startRoles, waitFor, type RoleProcess } from '../faults/processes.ts';
import { scrape, sumOf } from '../faults/metrics.ts';
import type { WireEvent } from '../faults/client.ts';
import { positionOffset } from '../../protocol/record.ts';

const SOAK = process.env.PLAYPULSE_SOAK === '1';
const PLAYERS = SOAK ? 1_000 : 120;
/** Events per player and phase: before the stop, while the zombie is stopped, after it continued. */
const PER_PHASE = SOAK ? 100 : 10;
/** Players with a level-up in each phase (the budgeted rule's triggers): under the budget before the stop, well past it after. */
const LEVEL_UPS_PER_PHASE = 16;
const BUDGET = { ruleId: 'level-budget', count: 25, per: 'day' } as const;
/** The broker's minimum is what the config allows (3 s); 6 s leaves the heartbeats of a loaded machine room. */
const SESSION_TIMEOUT_MS = 6_000;
const SOAK_TIMEOUT_MS = SOAK ? 3_600_000 : undefined;

type Sent = { player: string; event: WireEvent };

describe.each<FailPointStep>(['after-apply', 'after-claim'])('a zombie processor stopped at %s past its session', (step) => {
  const world = useWorld();

  it('applies and decides nothing twice when it continues', async () => {
    const t0 = Date.now();
    const w = world();
    const env = { ...w.env, PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS), PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS: '1000' };
    const [zombie, other] = await Promise.all([startRoles('processors', { ...env, PLAYPULSE_FAILPOINT: `${step}:1:stop` }), startRoles('processors', env)]);
    w.processes.push(zombie, other);

    const ids = Array.from({ length: PLAYERS }, (_, i) => `pz${i}`);
    const next = rng(step === 'after-apply' ? 81 : 82);
    // Phase p: every player's events p·PER_PHASE+1.. ; players 16p..16p+15 level up first thing.
    const phases: Sent[][] = [0, 1, 2].map((phase) =>
      ids.flatMap((player, i) =>
        Array.from({ length: PER_PHASE }, (_, k): Sent => {
          const id = `${player}-p${phase}e${k}`;
          const levelUp = k === 0 && Math.floor(i / LEVEL_UPS_PER_PHASE) === phase;
          const event = levelUp ? { id, type: 'level.up', data: { level: 10 + phase } } : randomEvent(next, id, { lossShare: 0.3, levelShare: 0 });
          return { player, event };
        }),
      ),
    );
    const kafka = integrityKafka(w.brokers);
    const admin = kafka.admin();
    await admin.connect();
    const produce = (sent: readonly Sent[]) => produceRecords(kafka, w.topic, sent.map((s) => toRecord(s.player, s.event)));
    // Both members hold partitions before the first event, so the zombie's first chunk is a real share of the stream.
    await waitFor('the group to be stable with two members holding partitions', async () => {
      const { groups } = await admin.describeGroups([w.groupId]);
      const g = groups[0];
      if (g?.state !== 'Stable' || g.members.length !== 2) return undefined;
      const held = g.members.map((m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[w.topic]?.length ?? 0);
      return held.every((n) => n > 0) ? true : undefined;
    }, 60_000, 200);

    // Phase 0: the zombie reaches its fail point in its first chunk and stops itself.
    await produce(phases[0] as Sent[]);
    await waitFor(`the processor to stop itself at ${step}:1`, () => (zombie.output().includes(`PLAYPULSE_FAILPOINT ${step}:1:stop reached`) && processState(zombie) === 'T' ? true : undefined), 60_000, 50).catch((err: unknown) => {
      throw new Error(`${String(err)}; its output:\n${zombie.output().slice(-4_000)}`);
    });
    const stoppedAt = Date.now();
    const claimedAtStop = step === 'after-claim' ? await budgetClaims(w) : null;
    if (step === 'after-claim') expect(claimedAtStop).toBeGreaterThan(0);

    // The group takes the zombie's partitions (after its session timeout): the other processor
    // applies and decides the zombie's half-done chunk — the same offer ids, with budget left,
    // so it records the offers whose units the zombie claimed — and commits all of phase 0.
    await waitConsumed(admin, w.groupId, w.topic, SOAK_TIMEOUT_MS ?? 120_000);
    const takeoverMs = Date.now() - stoppedAt;
    // Phase 1, while it is still stopped: the other processor alone, past the budget.
    await produce(phases[1] as Sent[]);
    await waitConsumed(admin, w.groupId, w.topic, SOAK_TIMEOUT_MS ?? 120_000);
    expect(processState(zombie)).toBe('T');
    const otherMetrics = await scrape(other.healthPort);
    // The zombie's half-done chunk, redelivered to the other processor: applied already, found by offset.
    const redeliveredApplied = sumOf(otherMetrics, 'playpulse_processor_duplicates_skipped_total', { reason: 'offset' });
    expect(redeliveredApplied).toBeGreaterThan(0);
    const committedBeforeContinue = await committedOffsets(admin, w.groupId, w.topic);

    // The zombie continues with the chunk it holds: its decisions must all be found made.
    zombie.kill('SIGCONT');
    await waitFor('the zombie to continue and find its chunk decided', async () => {
      if (!zombie.alive()) throw new Error(`the zombie exited:\n${zombie.output().slice(-4_000)}`);
      const s = await scrape(zombie.healthPort);
      return sumOf(s, 'playpulse_offers_duplicate_decisions_total') > 0 ? s : undefined;
    }, 60_000, 100);
    expect(zombie.output()).toContain(`PLAYPULSE_FAILPOINT ${step}:1:stop continued`);
    const zombieMetrics = await scrape(zombie.healthPort);
    const zombieDuplicateDecisions = sumOf(zombieMetrics, 'playpulse_offers_duplicate_decisions_total');
    const zombieFallbacks = sumOf(zombieMetrics, 'playpulse_offers_decision_fallbacks_total', { reason: 'duplicate' });
    // Phase 1 spent the budget: nothing the zombie did on continuing may free a unit.
    const claimsAfterContinue = await budgetClaims(w);
    expect(claimsAfterContinue).toBe(BUDGET.count);

    // Phase 2: both run again (the zombie rejoins as a new member); more level-ups than the budget has left.
    await produce(phases[2] as Sent[]);
    await waitConsumed(admin, w.groupId, w.topic, SOAK_TIMEOUT_MS ?? 120_000);
    const committedAfter = await committedOffsets(admin, w.groupId, w.topic);
    for (const [p, c] of committedBeforeContinue) expect(committedAfter.get(p) ?? 0n, `partition ${p} committed position went back`).toBeGreaterThanOrEqual(c);
    expect(zombie.alive() && other.alive()).toBe(true);
    const [zExit, oExit] = await Promise.all([zombie.stop(), other.stop()]);
    expect([zExit.code, oExit.code]).toEqual([0, 0]);

    // Committed = applied, per partition, once both stopped cleanly; and = the high watermarks.
    const committed = await committedOffsets(admin, w.groupId, w.topic);
    const high = await highWatermarks(admin, w.topic);
    await admin.disconnect();
    assertCommittedEqualsApplied(committed, await appliedUpTo(w, ids));
    for (const [p, h] of high) expect(committed.get(p) ?? 0n, `partition ${p}`).toBe(h);

    // Exact state: every event counted once.
    const sent = phases.flat();
    const expected = expectedStates(sent);
    const actual = await readPlayerStates(w.redis, w.keyPrefix, await scanPlayersWithState(w.redis, w.keyPrefix));
    const applyCheck = assertAppliedOnce(expected, actual);

    // Offers: every loss exactly one (ids and lifetime counters), no other rule but the budgeted one.
    const triggers = expectedLossTriggers(sent);
    const made = await lifetimeOffers(w.redis, w.keyPrefix, ids, 'loss-offer');
    let budgetStored = 0;
    for (const player of ids) {
      const { offers } = await readPlayerOffers(w.redis, w.keyPrefix, player);
      const wantLoss = (triggers.get(player) ?? []).map((e) => offerIdFor('loss-offer', player, e)).sort();
      expect(offers.filter((o) => o.ruleId === 'loss-offer').map((o) => o.id).sort(), player).toEqual(wantLoss);
      expect(made.get(player), player).toBe(wantLoss.length);
      expect(offers.filter((o) => o.ruleId !== 'loss-offer' && o.ruleId !== BUDGET.ruleId), player).toEqual([]);
      budgetStored += offers.filter((o) => o.ruleId === BUDGET.ruleId).length;
      const [today, day] = await w.redis.hmget(playerKeys(w.keyPrefix, player).state, 'offers_today', 'offers_day');
      expect(Number(today ?? 0), `${player} offers_today`).toBe(offers.filter((o) => Math.floor((o.createdAt ?? 0) / DAY_MS) === Number(day)).length);
    }
    const ledger = await collectOffers(w.redis, w.keyPrefix, ids);
    const offerCheck = assertAtMostOneOfferPerTrigger(ledger);
    assertBudgetNotExceeded(ledger, BUDGET);
    // The budget: exactly its count made (there were more level-ups), each holding one claim, no claim without an offer.
    const levelUps = distinctLevelUps(sent);
    expect(levelUps).toBeGreaterThan(BUDGET.count);
    const budgetMade = [...(await lifetimeOffers(w.redis, w.keyPrefix, ids, BUDGET.ruleId)).values()].reduce((a, b) => a + b, 0);
    const claims = await budgetClaims(w);
    expect({ budgetMade, budgetStored, claims }).toEqual({ budgetMade: BUDGET.count, budgetStored: BUDGET.count, claims: BUDGET.count });

    console.log(
      `zombie processor at ${step}:1:stop: ${PLAYERS} players, ${sent.length} events sent, applied ${[...expected.values()].reduce((n, s) => n + Number(s.events_total), 0)} ` +
        `(fields checked ${applyCheck.fields}); stopped ${(takeoverMs / 1000).toFixed(1)} s until the other processor had taken its partitions and committed phase 0, ` +
        `${redeliveredApplied} of its applied events redelivered to the other as duplicates; on continuing it found ${zombieDuplicateDecisions} decisions made ` +
        `(${zombieFallbacks} players' writes refused as decided)${claimedAtStop === null ? '' : `, ${claimedAtStop} budget units claimed at the stop`}, ${claimsAfterContinue} claims once it finished; ` +
        `offers ${[...made.values()].reduce((a, b) => a + b, 0) + budgetMade} (loss ${[...made.values()].reduce((a, b) => a + b, 0)}, budget ${budgetMade}/${BUDGET.count} of ${levelUps} level-ups, claims ${claims}, ledger ${offerCheck.offers}); ` +
        `${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, SOAK_TIMEOUT_MS ?? 180_000);
});

/** The process's state letter from /proc (T: stopped), or null when it is gone. */
function processState(p: RoleProcess): string | null {
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** Claims on the budgeted rule's window of today (the events' recvAt is now). */
async function budgetClaims(w: World): Promise<number> {
  return w.redis.scard(offerKeys(w.keyPrefix).budget(BUDGET.ruleId, budgetWindowStart(Date.now(), BUDGET.per)));
}

/** Per partition, one past the highest offset applied (the players' watermarks). */
async function appliedUpTo(w: World, players: readonly string[]): Promise<Map<number, bigint>> {
  const applied = new Map<number, bigint>();
  for (const wm of await Promise.all(players.map((p) => w.redis.hgetall(playerKeys(w.keyPrefix, p).watermark)))) {
    for (const [partition, offset] of Object.entries(wm)) {
      if (!/^\d+$/.test(partition)) continue;
      const n = BigInt(positionOffset(offset)) + 1n;
      if (n > (applied.get(Number(partition)) ?? 0n)) applied.set(Number(partition), n);
    }
  }
  return applied;
}
