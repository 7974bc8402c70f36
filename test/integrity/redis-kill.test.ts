/**
 * Fault: kill -9 (SIGKILL) of Redis under load, run as docs/operations.md §5 recommends
 * (AOF, `appendfsync everysec`, `noeviction`; a dedicated redis-server), restarted from its
 * AOF. Two phases, each with players of its own, so each phase's loss is its own:
 *
 * - `process crash`: SIGKILL, restart from the AOF as the dead process left it. Redis had
 *   written every reply's effects to the AOF file (the kernel's page cache) before replying,
 *   unless a slow fsync made it postpone the write, so nothing or very little is lost.
 * - `host crash`: SIGKILL, then the AOF loses what it was given in the last second before
 *   the kill (truncated to its size a second earlier: what `everysec` may not have fsynced
 *   when a host loses power), restart. Redis loads the shortened file (a half-written last
 *   command or transaction is dropped).
 *
 * Processors commit a chunk's offsets only after Redis applied it, but Redis acknowledged
 * those writes before they were durable: events whose effects were lost with the AOF tail
 * are not redelivered (the consumer's position, and soon the committed offset, are past
 * them), so state comes out short by them. What the row asserts in both phases: nothing
 * counted twice (no counter above applying each event once), players without a lost event
 * exact, at most one offer per trigger, the budget held in Redis and every offer over it
 * (read back from the decision log in Kafka, which does not depend on Redis) one that Redis
 * forgot; the loss bounded by what was applied in the last seconds before the kill; the
 * processors alive, recovering by themselves and consuming everything. In the host-crash
 * phase the loss must show (else the phase proved nothing); its size is logged.
 */
import { readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertAppliedOnce, assertAtMostOneOfferPerTrigger, type StateValue } from './checks.ts';
import { createWorld, type World } from './env.ts';
import { committedOffsets, integrityKafka, produceRecords, waitConsumed } from './kafka-tools.ts';
import { collectOffers, lifetimeOffers, readPlayerStates, readTopic } from './readers.ts';
import { expectedLossTriggers, expectedStates, generateStream, toRecord, type StreamEvent } from './stream.ts';
import { startRoles, waitFor, type RoleProcess } from '../faults/processes.ts';
import { scrape, sumOf } from '../faults/metrics.ts';
import { startDedicatedRedis, type DedicatedRedis } from '../faults/services.ts';
import { decodeDecisionRecord } from '../../offers/engine/decision-log.ts';
import { playerKeys } from '../../lib/keys.ts';
import { sleep } from '../../lib/time.ts';
import { positionOffset } from '../../protocol/record.ts';

const SOAK = process.env.PLAYPULSE_SOAK === '1';
const PLAYERS = SOAK ? 2_000 : 200;
const PER_PLAYER = SOAK ? 200 : 40;
/** What `appendfsync everysec` leaves unsynced at worst in the normal case: the last second. */
const LOSS_WINDOW_MS = 1_000;
/**
 * A loss may reach back this far before the kill: the last second, and up to 2 s more in
 * which Redis may postpone writing the AOF while a slow fsync is still running.
 */
const LOSS_BOUND_MS = LOSS_WINDOW_MS + 2_000;
const BUDGET = 25;
const COUNTERS = ['events_total', 'p:matches_played:count', 'p:losses:count', 'p:coins_total:sum'] as const;

/** Soak sizes take longer than the CI budget allows a test; without a soak, the CI timeout. */
const SOAK_TIMEOUT_MS = SOAK ? 3_600_000 : undefined;

interface Sample {
  readonly at: number;
  readonly aofBytes: number;
  readonly applied: number;
}

/** The AOF file Redis appends to now: the last `type i` file of its manifest (Redis 7 multi-part AOF). */
function incrementalAof(dataDir: string): string {
  const dir = join(dataDir, 'appendonlydir');
  const manifest = readFileSync(join(dir, 'appendonly.aof.manifest'), 'utf8');
  const files = [...manifest.matchAll(/^file (\S+) seq \d+ type i$/gm)].map((m) => m[1] as string);
  const last = files.at(-1);
  if (!last) throw new Error(`no incremental AOF in the manifest:\n${manifest}`);
  return join(dir, last);
}

/** Live decisions that made an offer, from the decision log topic (offers/engine/decision-log.ts reads its records). */
async function readDecisionOffers(brokers: readonly string[], topic: string): Promise<{ eventType: string; offerId: string }[]> {
  const records = await readTopic(brokers, topic, (m) => decodeDecisionRecord(m.key, m.value), 60_000);
  return records.flat().flatMap(({ decision: d }) => (d.offerId ? [{ eventType: d.eventType, offerId: d.offerId }] : []));
}

/** Per partition, one past the highest offset any of `players` has applied (their watermarks). */
async function appliedPositions(world: World, players: readonly string[]): Promise<Map<number, bigint>> {
  const out = new Map<number, bigint>();
  for (let i = 0; i < players.length; i += 200) {
    const wms = await Promise.all(players.slice(i, i + 200).map((p) => world.redis.hgetall(playerKeys(world.keyPrefix, p).watermark)));
    for (const wm of wms) {
      for (const [partition, offset] of Object.entries(wm)) {
        const next = BigInt(positionOffset(offset)) + 1n;
        if (next > (out.get(Number(partition)) ?? 0n)) out.set(Number(partition), next);
      }
    }
  }
  return out;
}

describe('kill -9 of Redis (AOF, appendfsync everysec) under load', () => {
  let redis: DedicatedRedis;
  let world: World;
  beforeAll(async () => {
    // No AOF rewrite during the row: the file the row shortens stays the one Redis appends to.
    redis = await startDedicatedRedis('everysec', ['--auto-aof-rewrite-percentage', '0']);
    world = createWorld({ redisUrl: redis.url });
    await world.createTopics();
  });
  afterAll(async () => {
    await world.cleanup();
    await redis.stop();
  });

  it('counts nothing twice and keeps budgets; loses at most the last unsynced writes, and says how many', async () => {
    const t0 = Date.now();
    const kafka = integrityKafka(world.brokers);
    const admin = kafka.admin();
    await admin.connect();
    const proc: RoleProcess = await startRoles('processors', world.env);
    world.processes.push(proc);
    const applied = async () => sumOf(await scrape(proc.healthPort), 'playpulse_processor_events_applied_total');
    const lines: string[] = [];

    const phase = async (name: 'process crash' | 'host crash', tag: string, seed: number, levelShare: number) => {
      const tp = Date.now();
      const players = Array.from({ length: PLAYERS }, (_, i) => `${tag}${i}`);
      const stream: StreamEvent[] = generateStream({ players, perPlayer: PER_PLAYER, seed, resendShare: 0.02, lossShare: 0.1, levelShare });
      const appliedAtStart = await applied();
      // Spread over about 12 s, so the seconds before the kill hold only part of the phase.
      const chunks = 40;
      const per = Math.ceil(stream.length / chunks);
      const producer = (async () => {
        for (let i = 0; i < chunks; i++) {
          await produceRecords(kafka, world.topic, stream.slice(i * per, (i + 1) * per).map((s) => toRecord(s.player, s.event)));
          await sleep(300);
        }
      })();

      // Sample the AOF's size and the applied count until the kill.
      const aof = incrementalAof(redis.dataDir);
      const samples: Sample[] = [];
      const target = appliedAtStart + Math.floor(stream.length * 0.5);
      await waitFor(
        `the processors to apply half of the ${name} phase`,
        async () => {
          const n = await applied();
          samples.push({ at: Date.now(), aofBytes: statSync(aof).size, applied: n });
          return n >= target ? true : undefined;
        },
        120_000,
        50,
      );
      const killedAt = Date.now();
      await redis.kill();
      const last = samples.at(-1) as Sample;
      const aofAtKill = statSync(aof).size;
      let dropped = 0;
      if (name === 'host crash') {
        const synced = [...samples].reverse().find((s) => s.at <= killedAt - LOSS_WINDOW_MS) ?? (samples[0] as Sample);
        truncateSync(aof, synced.aofBytes);
        dropped = aofAtKill - synced.aofBytes;
      }
      const reach = [...samples].reverse().find((s) => s.at <= killedAt - LOSS_BOUND_MS) ?? { applied: appliedAtStart };
      await sleep(1_500);
      const committedAtKill = await committedOffsets(admin, world.groupId, world.topic);
      expect(proc.alive()).toBe(true);
      // What Redis kept: its watermarks (last applied offset per partition), read before the
      // processors write again (stopped meanwhile; well within their session timeout).
      proc.kill('SIGSTOP');
      let durable: Map<number, bigint>;
      try {
        await redis.resume();
        durable = await appliedPositions(world, players);
      } finally {
        proc.kill('SIGCONT');
      }
      let committedNotDurable = 0n;
      for (const [p, c] of committedAtKill) {
        const d = durable.get(p) ?? 0n;
        if (c > d) committedNotDurable += c - d;
      }
      await producer;
      await waitConsumed(admin, world.groupId, world.topic, 120_000);
      expect(proc.alive()).toBe(true);

      const expected = expectedStates(stream);
      const actual = await readPlayerStates(world.redis, world.keyPrefix, players);
      // Nothing counted twice: no counter above applying each distinct event once.
      const over: unknown[] = [];
      let lost = 0;
      const short = new Set<string>();
      for (const [player, want] of expected) {
        const got = actual.get(player) ?? {};
        for (const field of COUNTERS) {
          const w = Number(want[field] ?? 0);
          const g = Number(got[field] ?? 0);
          if (g > w) over.push({ player, field, expected: w, actual: g });
        }
        const missing = Number(want.events_total) - Number(got.events_total ?? 0);
        if (missing > 0) {
          lost += missing;
          short.add(player);
        }
      }
      expect(over, 'counters above applying each event once').toEqual([]);
      // Players who lost no event are exact in every field.
      const keep = <T>(m: ReadonlyMap<string, T>) => new Map([...m].filter(([p]) => !short.has(p)));
      const exact = assertAppliedOnce(keep(expected) as Map<string, Record<string, StateValue>>, keep(actual));
      // Offers: at most one per trigger, never more loss offers than losses.
      const offers = await collectOffers(world.redis, world.keyPrefix, players);
      assertAtMostOneOfferPerTrigger(offers);
      const triggers = expectedLossTriggers(stream);
      const lossMade = await lifetimeOffers(world.redis, world.keyPrefix, players, 'loss-offer');
      const overOffered = players.filter((p) => (lossMade.get(p) ?? 0) > (triggers.get(p)?.length ?? 0));
      expect(overOffered, 'players with more loss offers than losses').toEqual([]);
      // The loss is bounded by what was applied in the last seconds before the kill.
      const appliedNearKill = last.applied - reach.applied;
      expect(lost).toBeLessThanOrEqual(appliedNearKill);
      if (name === 'host crash') {
        expect(dropped).toBeGreaterThan(0);
        expect(lost).toBeGreaterThan(0);
      }
      if (lost === 0) expect(committedNotDurable).toBe(0n);
      const lossOffersMissing = players.reduce((n, p) => n + (triggers.get(p)?.length ?? 0) - (lossMade.get(p) ?? 0), 0);
      lines.push(
        `${name}: ${stream.length} records (${stream.filter((s) => s.resend).length} resends) for ${players.length} players; killed at ${last.applied - appliedAtStart} applied; ` +
          `AOF ${aofAtKill} B at the kill${name === 'host crash' ? `, last ${dropped} B dropped` : ''}; ` +
          `lost ${lost} events of ${short.size} players (applied in the ${LOSS_BOUND_MS / 1000} s before the kill: ${appliedNearKill}); ` +
          `records committed at the kill beyond what Redis kept ${committedNotDurable}; loss offers not in Redis ${lossOffersMissing}; ` +
          `exact ${exact.players} players; ${((Date.now() - tp) / 1000).toFixed(1)} s`,
      );
      return { lost, dropped, committedNotDurable };
    };

    const a = await phase('process crash', 'prkill-a', 91, 0);
    const b = await phase('host crash', 'prkill-b', 92, 0.006);

    // Budgets: held as Redis knows them; any offer over the budget is one Redis forgot.
    const budgetKeys = await world.redis.keys(`${world.keyPrefix}:{b:level-budget}:budget:*`);
    const claimed = new Set<string>();
    for (const k of budgetKeys) for (const id of await world.redis.smembers(k)) claimed.add(id);
    expect(claimed.size).toBeLessThanOrEqual(BUDGET);
    await waitFor('the decision log to be written', async () => (sumOf(await scrape(proc.healthPort), 'playpulse_offers_decision_log_written_total') > 0 ? true : undefined), 30_000, 200);
    await sleep(1_000);
    const made = new Set((await readDecisionOffers(world.brokers, world.config.topics.decisions)).filter((d) => d.eventType === 'level.up').map((d) => d.offerId));
    const forgotten = [...made].filter((id) => !claimed.has(id)).length;
    expect(Math.max(0, made.size - BUDGET)).toBeLessThanOrEqual(forgotten);
    expect(proc.alive()).toBe(true);
    await admin.disconnect();
    const restarts = sumOf(await scrape(proc.healthPort), 'playpulse_processor_consumer_restarts_total');
    console.log(
      `Redis SIGKILL (AOF everysec): ${lines.join(' | ')} | budget: ${claimed.size}/${BUDGET} claimed in Redis, ${made.size} level offers in the decision log (${forgotten} Redis forgot); ` +
        `consumer restarts ${restarts}; same processor pid; lost ${a.lost} + ${b.lost}; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, SOAK_TIMEOUT_MS ?? 300_000);
});
