import type { Context } from '@opentelemetry/api';
import type { Bundle, Rule } from '../../designer/types.ts';
import { publishTraced } from './offer-routing.ts';
import type { Offer } from '../../protocol/offer.ts';
import type { FollowUpJob } from '../jobs/queues.ts';
import { exposures } from './attribution.ts';
import type { EngineContext } from './context.ts';
import { decideEvent, followUpJobOf, purchaseAsOfEvent, type DecisionInput } from './decide.ts';
import { dailyCapFor } from '../../designer/segments.ts';
import { considerRules, limitCandidates, limitVerdicts, liveCandidates, pinArms, type Considered } from './evaluate.ts';
import type { DecisionRecord } from './explain.ts';
import { encodeDecision } from './explain-codec.ts';
import { offerIdFor } from './hashing.ts';
import { budgetWindowStart, cooldownAfter, dayIndex, offersOnDay, type PlayerCounters } from './limits.ts';
import { offerMetrics } from './metrics.ts';
import { buildOffer, newLedgerRecord, shapedByRule, variantLabel } from './offer.ts';
import { shapeDecision } from './shape.ts';
import { playerKeys } from '../../lib/keys.ts';
import { toWireOffer } from '../../protocol/server-frames.ts';
import {
  budgetWindow,
  claimBudget,
  decidedMarker,
  isDecided,
  readPlayersCounters,
  releaseClaims,
  runDecidePlayers,
  SegmentSizes,
  StatsDelta,
  type BudgetWindow,
  type DecisionWrite,
  type EventPosition,
  type ReservationStatus,
} from './redis-ops.ts';

/**
 * The batched decision path: the triggering events of one slice of a chunk step (about 1,000,
 * decider.ts) decided in a small, constant number of pipelined round trips (docs/internals.md,
 * "The decision pipeline"). Per call, in this order, each step one batch boundary:
 *
 *   1. read    one round trip: the players' decided markers and counters, one
 *              readPlayers-n.lua call per group of players (redis-ops.ts PLAYERS_PER_CALL,
 *              a group shares a Redis Cluster slot); per budget window touched, its claim
 *              count (SCARD) and which of the chunk's offer ids hold a claim already
 *              (SMISMEMBER: such a claim is the offer's own, not a reason to refuse it).
 *   2. decide  in process, in chunk order: conditions, arms, holdout, then the limit
 *              verdicts against each player's counters as the player's earlier decisions of
 *              the chunk left them, and against each budget as the chunk's earlier winners
 *              left it. No I/O.
 *   3. claim   one reserveBudget-1.lua call per budget window, with every offer id the chunk
 *              wants from it (all or some). Skipped when no winner has a budget.
 *   4. write   one decidePlayers-n.lua call per group of players with all of their
 *              decisions, all sent together: it re-checks each player's markers and limits
 *              as it records, so a second processor deciding the same player (a rebalance)
 *              can never double an offer or pass a limit; it opens the attribution
 *              windows (lift) of what it records, in the same call, and returns the
 *              presence of each player it made an offer for, read after the inbox write.
 *   5. after   routing (SPUBLISH to each edge of that presence), lifecycle
 *              jobs (BullMQ addBulk) and the segment sizes (one PFADD per segment and day),
 *              sent together; then the stats of the whole chunk, one MULTI per rule.
 *              Events found decided (a redelivered chunk) route their still-pending
 *              offers again, in the same step (`reroute`).
 *
 * A player whose claim came back short (another processor took the last units) or whose
 * write was refused (their counters moved since the read) gets their claims back and is
 * decided again event by event on the slow path (decide.ts), which re-reads and retries.
 * Each step awaits all its calls, so on a Redis failure the whole call rejects; the processor
 * then does not commit, and the redelivered chunk decides nothing twice (the markers).
 *
 * Allocations per event: the CEL input, the considered rules and their verdicts, the
 * explanation and its encoding, the offer when one is made; nothing per event is kept past
 * the call.
 */

/** One triggering event of a chunk with its Kafka position, and its place in the chunk. */
export interface Trigger {
  readonly input: DecisionInput & { readonly position: EventPosition };
  /** Index in the chunk: budgets go to the earlier events first. */
  readonly order: number;
}

/** A player's triggering events of one step of the chunk, in their order. */
export interface TriggerRun {
  readonly playerId: string;
  readonly triggers: readonly Trigger[];
}

/**
 * What the steps of one chunk share (decider.ts): the chunk's stats, summed and written in
 * one MULTI per slot when the whole chunk is decided, and the writes no later step of the
 * chunk reads (routing, lifecycle jobs, segment sizes), awaited then too. They leave with
 * the next step's read, in the same write to Redis, instead of a round trip of their own
 * per step. What a later step does read (the player scripts' writes, with the attribution
 * windows a revenue event spends against) is awaited within the step.
 */
export class ChunkTail {
  readonly stats = new StatsDelta();
  private readonly pending: Promise<unknown>[] = [];

  /** A write to finish before the chunk counts as decided; its failure fails `settle`. */
  defer(write: Promise<unknown>): void {
    write.catch(() => undefined);
    this.pending.push(write);
  }

  /** Batch boundary: the deferred writes, then the chunk's stats. Rejects when any write failed. */
  async settle(ctx: EngineContext): Promise<void> {
    await Promise.all(this.pending);
    this.pending.length = 0;
    await this.stats.flush(ctx.redis, ctx.keyPrefix);
  }
}

type Counters = {
  rules: Map<string, { cooldownUntil: number | null; lifetime: number; arm?: string | null }>;
  offersToday: number;
  offersDay: number | null;
  lastPurchaseAt: number | null;
  lastDeclineAt: number | null;
};

/** One budget window the chunk touches: claims read, and the estimate carried across the chunk's winners. */
interface WindowUse {
  readonly window: BudgetWindow;
  used: number;
  /** The offer ids this chunk could give from the window, asked at the read whether they hold a claim already. */
  readonly probed: string[];
  /**
   * Those already holding a claim: another processor deciding the same events (a rebalance,
   * a zombie) claimed them. `used` counts them, so their own verdict must not: a full window
   * would refuse the very offer its unit is held for, the other processor would then find the
   * events decided and give the unit back, and the unit would be lost to every later player.
   */
  held: ReadonlySet<string>;
  readonly offerIds: string[];
  statuses: Map<string, ReservationStatus>;
}

interface Planned {
  readonly d: Trigger['input'];
  readonly considered: readonly Considered[];
  readonly record: DecisionRecord;
  readonly winner: Considered | null;
  readonly offer: Offer | null;
  readonly write: DecisionWrite;
  /** The budget window the offer claims from, if its rule has a budget. */
  readonly claim: WindowUse | null;
}

interface PlayerWork {
  readonly playerId: string;
  readonly triggers: readonly Trigger[];
  readonly considered: Considered[][];
  /** Per trigger: the offer id of each candidate rule with a budget (probed at the read, reused by plan). */
  readonly budgetedIds: Map<string, string>[];
  readonly markerFields: string[];
  readonly ruleIds: string[];
  /** Bandit rules among `ruleIds`: their arms pinned to the player are read too. */
  readonly pinnedRuleIds: string[];
  markers: ReadonlyMap<string, number | null>;
  counters: Counters;
  readonly planned: Planned[];
  fallback: 'budget' | 'refused' | 'duplicate' | null;
  /** Once written: per planned decision (index), the rule ids whose attribution window it opened. */
  opened: ReadonlyMap<number, readonly string[]>;
  /** Once written with an offer: the player's presence, read by the write after the inbox (routing's input). */
  presence: readonly string[];
}

const NONE_OPENED: ReadonlyMap<number, readonly string[]> = new Map();

/** Decides every run of one step of a chunk (each player at most once); see the header. */
export async function decideRuns(
  ctx: EngineContext,
  bundle: Bundle,
  runs: readonly TriggerRun[],
  onDecision?: (playerId: string, record: DecisionRecord) => void,
  chunk?: ChunkTail,
): Promise<void> {
  if (runs.length === 0) return;
  // Without a chunk's: this call's own, settled before it returns.
  const tail = chunk ?? new ChunkTail();
  const started = process.hrtime.bigint();
  const windows = new Map<string, WindowUse>();
  // By rule id, then window start: each window's key is built once per call, not per event.
  const windowsByRule = new Map<string, Map<number, WindowUse>>();
  const windowOf = (rule: Rule, at: number): WindowUse | null => {
    const budget = rule.limits.budget;
    if (!budget) return null;
    const start = budgetWindowStart(at, budget.per);
    let byStart = windowsByRule.get(rule.id);
    if (!byStart) windowsByRule.set(rule.id, (byStart = new Map()));
    let use = byStart.get(start);
    if (use) return use;
    const w = budgetWindow(ctx.keyPrefix, rule, at) as BudgetWindow;
    use = windows.get(w.key);
    if (!use) windows.set(w.key, (use = { window: w, used: 0, probed: [], held: new Set(), offerIds: [], statuses: new Map() }));
    byStart.set(start, use);
    return use;
  };

  // Pure first half of every decision: needs only the event and its applied state.
  const players = runs.map((run): PlayerWork => {
    const considered = run.triggers.map((t) => considerRules(t.input.rules, t.input.input, run.playerId, bundle.policy, t.input.at, ctx.bandits?.sharesOf));
    const markerFields = new Set<string>();
    const ruleIds = new Set<string>();
    const pinned = new Set<string>();
    const budgetedIds = run.triggers.map((t, i) => {
      markerFields.add(decidedMarker(t.input.position) as string);
      const ids = new Map<string, string>();
      for (const c of limitCandidates(considered[i] ?? [])) {
        ruleIds.add(c.rule.id);
        if (c.rule.experiment?.bandit) pinned.add(c.rule.id);
        const w = windowOf(c.rule, t.input.at);
        if (w) {
          const id = offerIdFor(c.rule.id, run.playerId, t.input.eventId);
          ids.set(c.rule.id, id);
          w.probed.push(id);
        }
      }
      return ids;
    });
    return {
      playerId: run.playerId,
      triggers: run.triggers,
      considered,
      budgetedIds,
      markerFields: [...markerFields],
      ruleIds: [...ruleIds],
      pinnedRuleIds: [...pinned],
      markers: new Map(),
      counters: { rules: new Map(), offersToday: 0, offersDay: null, lastPurchaseAt: null, lastDeclineAt: null },
      planned: [],
      fallback: null,
      opened: NONE_OPENED,
      presence: [],
    };
  });

  // Batch boundary 1 — read: every player's markers and counters (a few calls per slice),
  // every window's claims and which of the chunk's offer ids hold one already (two commands
  // per window, sent together).
  await Promise.all([
    readPlayersCounters(ctx.redis, ctx.keyPrefix, players).then((reads) =>
      reads.forEach((r, i) => {
        const p = players[i] as PlayerWork;
        p.markers = r.markers;
        const c = r.counters;
        p.counters = { rules: new Map(c.rules), offersToday: c.offersToday, offersDay: c.offersDay, lastPurchaseAt: c.lastPurchaseAt, lastDeclineAt: c.lastDeclineAt };
      }),
    ),
    ...[...windows.values()].map(async (w) => {
      const [used, held] = await Promise.all([ctx.redis.scard(w.window.key), w.probed.length > 0 ? ctx.redis.smismember(w.window.key, ...w.probed) : []]);
      w.used = used;
      w.held = new Set(w.probed.filter((_, k) => held[k] === 1));
    }),
  ]);

  // Decide in process, in chunk order (each player's events are in order already).
  const order = players.flatMap((p) => p.triggers.map((t, i) => ({ p, t, i }))).sort((a, b) => a.t.order - b.t.order);
  let duplicates = 0;
  const redelivered: Redelivered[] = [];
  for (const { p, t, i } of order) {
    if (isDecided(p.markers, t.input.position)) {
      duplicates += 1;
      redelivered.push({ playerId: p.playerId, offerIds: t.input.rules.map((r) => offerIdFor(r.id, p.playerId, t.input.eventId)) });
      continue;
    }
    p.planned.push(plan(bundle, p.counters, t.input, p.considered[i] ?? [], p.budgetedIds[i] ?? new Map(), windowOf));
  }
  if (duplicates > 0) offerMetrics.duplicates.inc(duplicates);

  // Batch boundary 2 — claim: one call per budget window, the chunk's offer ids in order.
  const wanted = [...windows.values()].filter((w) => w.offerIds.length > 0);
  await Promise.all(
    wanted.map(async (w) => {
      const { statuses } = await claimBudget(ctx.redis, w.window, w.offerIds);
      w.offerIds.forEach((id, k) => w.statuses.set(id, statuses[k] ?? 'exhausted'));
    }),
  );
  for (const p of players) {
    if (p.planned.some((x) => x.claim && x.offer && x.claim.statuses.get(x.offer.id) === 'exhausted')) p.fallback = 'budget';
  }
  if (ctx.failAfterClaim && wanted.some((w) => [...w.statuses.values()].includes('claimed'))) ctx.failAfterClaim(`${runs.length} players, budget units claimed, decisions not yet written`);

  // Batch boundary 3 — write: every player's decisions, a few calls per slice.
  const writing = players.filter((p) => p.fallback === null && p.planned.length > 0);
  const results = await runDecidePlayers(
    ctx.redis,
    ctx.keyPrefix,
    writing.map((p) => ({ playerId: p.playerId, decisions: p.planned.map((x) => x.write) })),
    ctx.retentionMs(),
    bundle.policy.revenue?.windowMs ?? 0,
  );
  results.forEach((r, i) => {
    const p = writing[i] as PlayerWork;
    if (r.status !== 'ok') p.fallback = r.status === 'dup' ? 'duplicate' : 'refused';
    else {
      p.opened = r.opened;
      p.presence = r.presence;
    }
  });

  const fallen = players.filter((p) => p.fallback !== null);
  const recorded = players.filter((p) => p.fallback === null);
  if (ctx.failAfterRecord && recorded.some((p) => p.planned.some((x) => x.offer !== null))) ctx.failAfterRecord(`${runs.length} players, offers recorded, not yet routed`);
  await Promise.all([after(ctx, bundle, recorded, started, tail, onDecision), ...fallen.map((p) => slowPath(ctx, p, onDecision)), reroute(ctx, redelivered)]);
  if (!chunk) await tail.settle(ctx);
}

/** A triggering event found decided: the ids any of its rules would have given its offer. */
interface Redelivered {
  readonly playerId: string;
  readonly offerIds: readonly string[];
}

/**
 * Routes again the offers of events found already decided (a chunk redelivered after a crash
 * or a rebalance) that are still pending in the player's inbox: the process that recorded
 * them may have died before routing them, and the decision is not made again. A copy an edge
 * already pushed to a socket is not pushed twice (edge/session.ts), so each socket gets each
 * offer once. One round trip per such player, only for redelivered events.
 */
async function reroute(ctx: EngineContext, redelivered: readonly Redelivered[]): Promise<void> {
  if (redelivered.length === 0) return;
  const byPlayer = new Map<string, Set<string>>();
  for (const r of redelivered) {
    const ids = byPlayer.get(r.playerId) ?? new Set<string>();
    for (const id of r.offerIds) ids.add(id);
    byPlayer.set(r.playerId, ids);
  }
  const now = Date.now();
  await Promise.all(
    [...byPlayer].map(async ([playerId, set]) => {
      const ids = [...set];
      if (ids.length === 0) return;
      const keys = playerKeys(ctx.keyPrefix, playerId);
      const [scores, bodies] = await Promise.all([ctx.redis.zmscore(keys.inbox, ...ids), ctx.redis.hmget(keys.offers, ...ids)]);
      const pending = ids.flatMap((id, k) => {
        const score = scores[k];
        const body = bodies[k];
        if (score === null || score === undefined || Number(score) <= now || !body) return [];
        const offer = parseStoredOffer(body);
        return offer ? [offer] : [];
      });
      if (pending.length > 0) offerMetrics.rerouted.inc(pending.length);
      await Promise.all(
        pending.map((offer) =>
          ctx.publish(playerId, offer).catch((err: unknown) => {
            ctx.log.warn({ err, player: playerId, offer: offer.id }, 'routing a redelivered offer again failed; it stays in the inbox for the next connect');
            return 0;
          }),
        ),
      );
    }),
  );
}

function parseStoredOffer(body: string): Offer | null {
  try {
    return toWireOffer(JSON.parse(body));
  } catch {
    return null;
  }
}

/** The in-process decision of one event against the player's counters and the chunk's budget estimates; carries both forward. */
function plan(
  bundle: Bundle,
  counters: Counters,
  d: Trigger['input'],
  shared: readonly Considered[],
  budgetedIds: ReadonlyMap<string, string>,
  windowOf: (rule: Rule, at: number) => WindowUse | null,
): Planned {
  const policy = bundle.policy;
  // A bandit arm pinned to the player (read, or pinned by their earlier offer in this chunk) wins over the shares'.
  const considered = pinArms(shared, counters);
  const candidates = limitCandidates(considered);
  const used = new Map<string, number>();
  for (const c of candidates) {
    const w = windowOf(c.rule, d.at);
    // Units used by other offers: this offer's own claim, if it holds one, leaves it room (WindowUse.held).
    if (w) used.set(c.rule.id, w.held.has(budgetedIds.get(c.rule.id) ?? '') ? w.used - 1 : w.used);
  }
  const lastPurchaseAt = purchaseAsOfEvent(d, counters.lastPurchaseAt);
  // Field by field, not a spread (input.ts playerView): once per decision.
  const seen: PlayerCounters = { rules: counters.rules, offersToday: counters.offersToday, offersDay: counters.offersDay, lastPurchaseAt, lastDeclineAt: counters.lastDeclineAt };
  const cap = dailyCapFor(policy, bundle.segments.evaluate(d.input));
  const verdicts = limitVerdicts(considered, seen, used, policy, d.at, cap);
  const winner = liveCandidates(considered, verdicts)[0] ?? null;
  // Offer ids (a hash each) only where the explanation or the offer shows one: the winner and the shadow rules that passed their limits.
  const offerIds = new Map<string, string>();
  for (const c of candidates) {
    if (c.rule === winner?.rule || (c.rule.mode === 'shadow' && (verdicts.get(c.rule.id) ?? null) === null)) offerIds.set(c.rule.id, budgetedIds.get(c.rule.id) ?? offerIdFor(c.rule.id, d.playerId, d.eventId));
  }
  const made = winner ? buildOffer(winner.rule, winner.variant, offerIds.get(winner.rule.id) ?? '', d.at, d.input) : null;
  const offer = made?.offer ?? null;
  const shaped = shapedByRule(considered, verdicts, winner && made ? { ruleId: winner.rule.id, shaped: made.shaped } : null, d.input);
  const record = shapeDecision({ eventId: d.eventId, eventType: d.eventType, at: d.at, bundleVersion: bundle.version, considered, verdicts, winner: winner?.rule.id ?? null, offerIds, ...(shaped ? { shaped } : {}) });
  let claim: WindowUse | null = null;
  if (winner && offer) {
    const rule = winner.rule;
    claim = windowOf(rule, d.at);
    if (claim) {
      if (!claim.held.has(offer.id)) claim.used += 1;
      claim.offerIds.push(offer.id);
    }
    const prev = counters.rules.get(rule.id);
    const arm = prev?.arm ?? (rule.experiment?.bandit ? (winner.variant?.name ?? null) : null);
    counters.rules.set(rule.id, { cooldownUntil: cooldownAfter(rule, d.at) ?? prev?.cooldownUntil ?? null, lifetime: (prev?.lifetime ?? 0) + 1, arm });
    counters.offersToday = offersOnDay(counters, d.at) + 1;
    counters.offersDay = dayIndex(d.at);
  }
  const write: DecisionWrite = {
    mark: { position: d.position },
    now: d.at,
    record,
    // Encoded once: the Redis write and the decision stream (after) send these bytes.
    compact: encodeDecision(record),
    exposures: policy.revenue ? exposures(considered) : [],
    write:
      winner && offer
        ? {
            rule: winner.rule,
            offer,
            ledger: newLedgerRecord(offer, d.eventId, d.at),
            cooldownUntil: cooldownAfter(winner.rule, d.at),
            maxPerDay: cap.max,
            quietAfterPurchaseMs: policy.quietAfterPurchaseMs,
            quietAfterDeclineMs: policy.quietAfterDeclineMs,
            lastPurchaseAt,
          }
        : null,
  };
  return { d, considered, record, winner, offer, write, claim };
}

/**
 * Batch boundary 4 — after the write: explanations to the decision stream, metrics, then
 * routing and lifecycle jobs sent together, awaited with the stats by the chunk (ChunkTail);
 * the step does not wait for them.
 */
async function after(
  ctx: EngineContext,
  bundle: Bundle,
  recorded: readonly PlayerWork[],
  started: bigint,
  tail: ChunkTail,
  onDecision?: (playerId: string, record: DecisionRecord) => void,
): Promise<void> {
  const stats = tail.stats;
  const sizes = new SegmentSizes(ctx.keyPrefix);
  const expiries: { playerId: string; offer: Offer }[] = [];
  const followUps: FollowUpJob[] = [];
  const routes: Promise<void>[] = [];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const p of recorded) {
    for (const [k, ruleIds] of p.opened) {
      const x = p.planned[k] as Planned;
      for (const ruleId of ruleIds) {
        const group = x.write.exposures.find((e) => e.ruleId === ruleId)?.group;
        if (group !== undefined) stats.add(ruleId, group, { exposed: 1 });
      }
    }
    for (const x of p.planned) {
      ctx.decisionLog?.add(p.playerId, x.record, x.write.compact);
      onDecision?.(p.playerId, x.record);
      sizes.add(p.playerId, x.d.at, bundle.segments.evaluate(x.d.input));
      offerMetrics.latency.observe(seconds);
      x.record.rules.forEach((r, k) => {
        offerMetrics.decisions.inc({ outcome: r.outcome, mode: r.mode });
        const c = x.considered[k];
        if (!c?.matched) return;
        const counts: Record<string, number> = { triggered: 1 };
        if (r.outcome === 'offered') counts.offered = 1;
        if (r.outcome === 'shadow') counts.shadow_offered = 1;
        stats.add(c.rule.id, variantLabel(c.variant?.name), counts);
      });
      const { winner, offer } = x;
      if (!winner || !offer) continue;
      expiries.push({ playerId: p.playerId, offer });
      const fu = followUpJobOf(x.d, winner.rule, offer);
      if (fu) followUps.push(fu);
      routes.push(route(ctx, p.playerId, winner.rule, offer, stats, x.d.trace, p.presence));
    }
  }
  const jobs = ctx.queues
    ? Promise.all([ctx.queues.scheduleExpiries(expiries), ctx.queues.scheduleFollowUps(followUps)])
    : Promise.resolve(followUps.forEach((j) => ctx.followUps?.(j)));
  // Routing, jobs and sizes: no later step reads them (ChunkTail).
  tail.defer(Promise.all([...routes, jobs, sizes.flush(ctx.redis)]));
}

async function route(ctx: EngineContext, playerId: string, rule: Rule, offer: Offer, stats: StatsDelta, trace: Context | undefined, presence: readonly string[]): Promise<void> {
  const routed = await publishTraced(ctx, playerId, offer, trace, presence).catch((err: unknown) => {
    ctx.log.warn({ err, player: playerId, offer: offer.id }, 'offer routing failed; it stays in the inbox for the next connect');
    return 0;
  });
  if (routed > 0) {
    offerMetrics.delivered.inc();
    stats.add(rule.id, variantLabel(offer.variant), { delivered: 1 });
  }
}

/**
 * A player the batch could not record (budget short, write refused, found decided): give back
 * the units claimed for them now, then decide their events one by one on the slow path, in
 * order.
 *
 * Found decided (`duplicate`: another processor decided these events, e.g. this one was a
 * zombie, stopped past its session while the group gave its partitions away): a unit this
 * call claimed may be the very unit the other processor's decision counted on (it found the
 * offer id holding a claim, `held`, and recorded the offer). Such a unit is kept: only the
 * units of offers not recorded for the player are given back. The decision that refused this
 * write is already in Redis (the marker and the offer are written together), so one read of
 * the player's offers tells them apart. Giving every unit back let the budget make as many
 * offers again as the zombie had claimed (test/integrity/processor-zombie.test.ts).
 */
async function slowPath(ctx: EngineContext, p: PlayerWork, onDecision?: (playerId: string, record: DecisionRecord) => void): Promise<void> {
  offerMetrics.fallbacks.inc({ reason: p.fallback ?? 'refused' });
  const claimed = p.planned.filter((x) => x.claim && x.offer && x.claim.statuses.get(x.offer.id) === 'claimed');
  let recorded: ReadonlySet<string> = new Set();
  if (p.fallback === 'duplicate' && claimed.length > 0) {
    const ids = claimed.map((x) => (x.offer as Offer).id);
    const bodies = await ctx.redis.hmget(playerKeys(ctx.keyPrefix, p.playerId).offers, ...ids);
    recorded = new Set(ids.filter((_, k) => bodies[k] !== null && bodies[k] !== undefined));
  }
  const release = new Map<WindowUse, string[]>();
  for (const x of claimed) {
    const id = (x.offer as Offer).id;
    if (recorded.has(id)) continue;
    const ids = release.get(x.claim as WindowUse) ?? [];
    ids.push(id);
    release.set(x.claim as WindowUse, ids);
  }
  await Promise.all([...release].map(([w, ids]) => releaseClaims(ctx.redis, w.window, ids)));
  for (const x of p.planned) {
    const outcome = await decideEvent(ctx, x.d);
    if (outcome.status === 'decided') onDecision?.(p.playerId, outcome.record);
  }
}
