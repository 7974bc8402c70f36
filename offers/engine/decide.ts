import type { Bundle, ConditionInput, Rule } from '../../designer/types.ts';
import type { Context } from '@opentelemetry/api';
import { publishTraced } from './offer-routing.ts';
import type { Offer } from '../../protocol/offer.ts';
import type { FollowUpJob } from '../jobs/queues.ts';
import { exposures } from './attribution.ts';
import { considerRules, limitCandidates, limitVerdicts, liveCandidates, pinArms, type Considered } from './evaluate.ts';
import type { DecisionRecord } from './explain.ts';
import { offerIdFor } from './hashing.ts';
import { budgetVerdict, cooldownAfter, type DailyCap, type LimitVerdict, type PlayerCounters } from './limits.ts';
import { dailyCapFor } from '../../designer/segments.ts';
import { offerMetrics } from './metrics.ts';
import { buildOffer, newLedgerRecord, shapedByRule, variantLabel } from './offer.ts';
import { budgetUsed, incrStats, readCounters, releaseBudget, reserveBudget, runDecide, SegmentSizes, type DecideResult, type DecisionMark, type EventPosition, type Exposure } from './redis-ops.ts';
import type { EngineContext } from './context.ts';
import { shapeDecision } from './shape.ts';

export type { EngineContext, PublishOffer } from './context.ts';

/** One triggering event to decide: the player, the event's identity and time, its CEL input, the candidate rules. */
export interface DecisionInput {
  readonly playerId: string;
  readonly eventId: string;
  readonly eventType: string;
  /** recvAt of the event (or the due time of a follow-up): the clock of every check. */
  readonly at: number;
  readonly input: ConditionInput;
  readonly rules: readonly Rule[];
  readonly bundle: Bundle;
  /** Where the triggering event sits in Kafka: its decided marker. Absent only for a follow-up (`followUpOf`). */
  readonly position?: EventPosition;
  readonly followUpOf?: string;
  /** A traced triggering event (lib/tracing.ts): the parent of its offer's routing span. */
  readonly trace?: Context | undefined;
}

export type DecisionOutcome =
  | { readonly status: 'decided'; readonly record: DecisionRecord; readonly offer: Offer | null }
  | { readonly status: 'duplicate' };

const MAX_ATTEMPTS = 5;
const NO_COUNTERS: PlayerCounters = { rules: new Map(), offersToday: 0, offersDay: null, lastPurchaseAt: null, lastDeclineAt: null };

/**
 * Decides one triggering event, at most once. Per attempt: read the player's counters (and
 * the decided marker), compute verdicts, claim budget for the best live candidate (next one
 * on exhaustion), then run decidePlayers-n.lua with this one decision, which re-checks the
 * player limits and writes everything or nothing. A refusal (the counters moved since the
 * read: a concurrent decision for the same player) gives the claim back and starts over from
 * a fresh read. This is the slow path, a few round trips per event: follow-ups take it, and
 * so does a player whose batched write (decide-batch.ts) was refused.
 */
export async function decideEvent(ctx: EngineContext, d: DecisionInput): Promise<DecisionOutcome> {
  const started = process.hrtime.bigint();
  const mark: DecisionMark | null = d.position ? { position: d.position } : d.followUpOf !== undefined ? { followUpOf: d.followUpOf } : null;
  // programmer error: every caller passes a Kafka position or the first offer's id
  if (!mark) throw new Error(`decision for event ${d.eventId} has neither a Kafka position nor a first offer: it could be decided twice`);
  if (ctx.bandits && d.rules.some((r) => r.experiment?.bandit)) await ctx.bandits.refresh(ctx.redis, ctx.keyPrefix, d.bundle);
  const shared = considerRules(d.rules, d.input, d.playerId, d.bundle.policy, d.at, ctx.bandits?.sharesOf);
  const candidates = limitCandidates(shared);
  const pinned = candidates.filter((c) => c.rule.experiment?.bandit).map((c) => c.rule.id);
  const offerIds = new Map(candidates.map((c) => [c.rule.id, offerIdFor(c.rule.id, d.playerId, d.eventId)]));
  const refusals = new Map<string, LimitVerdict>();
  const cap = dailyCapFor(d.bundle.policy, d.bundle.segments.evaluate(d.input));

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    if (attempt > 0) offerMetrics.retries.inc();
    const used = new Map<string, number>();
    const [{ decided, counters }] = await Promise.all([
      candidates.length > 0
        ? readCounters(ctx.redis, ctx.keyPrefix, d.playerId, d.position ?? null, candidates.map((c) => c.rule.id), pinned)
        : Promise.resolve({ decided: false, counters: NO_COUNTERS }),
      ...candidates
        .filter((c) => c.rule.limits.budget)
        .map(async (c) => void used.set(c.rule.id, await budgetUsed(ctx.redis, ctx.keyPrefix, c.rule, d.at, offerIds.get(c.rule.id) ?? ''))),
    ]);
    if (decided) return duplicate();
    // A bandit arm pinned to the player wins over the one the current shares gave.
    const considered = pinArms(shared, counters);
    const lastPurchaseAt = purchaseAsOfEvent(d, counters.lastPurchaseAt);
    const verdicts = limitVerdicts(considered, { ...counters, lastPurchaseAt }, used, d.bundle.policy, d.at, cap);
    for (const [id, v] of refusals) if (verdicts.get(id) === null) verdicts.set(id, v);

    const { winner, claimed } = await pickWinner(ctx, d, liveCandidates(considered, verdicts), verdicts, offerIds);
    const made = winner ? buildOffer(winner.rule, winner.variant, offerIds.get(winner.rule.id) ?? '', d.at, d.input) : null;
    const offer = made?.offer ?? null;
    const shaped = shapedByRule(considered, verdicts, winner && made ? { ruleId: winner.rule.id, shaped: made.shaped } : null, d.input);
    const record = shapeDecision({
      eventId: d.eventId,
      eventType: d.eventType,
      at: d.at,
      bundleVersion: d.bundle.version,
      considered,
      verdicts,
      winner: winner?.rule.id ?? null,
      offerIds,
      ...(d.followUpOf !== undefined ? { followUpOf: d.followUpOf } : {}),
      ...(shaped ? { shaped } : {}),
    });
    // The attribution windows (lift) the decision opens, recorded by the same script call.
    const exposed = d.bundle.policy.revenue ? exposures(considered) : [];
    const result: DecideResult = await runDecide(ctx.redis, ctx.keyPrefix, d.playerId, mark, d.at, record, offer && winner ? {
      rule: winner.rule,
      offer,
      ledger: newLedgerRecord(offer, d.eventId, d.at),
      cooldownUntil: cooldownAfter(winner.rule, d.at),
      maxPerDay: cap.max,
      quietAfterPurchaseMs: d.bundle.policy.quietAfterPurchaseMs,
      quietAfterDeclineMs: d.bundle.policy.quietAfterDeclineMs,
      lastPurchaseAt,
    } : null, ctx.retentionMs(), exposed, d.bundle.policy.revenue?.windowMs ?? 0);

    if (result.status === 'ok') {
      ctx.decisionLog?.add(d.playerId, record);
      await afterDecision(ctx, d, considered, record, winner, offer, exposed.filter((e) => result.opened.includes(e.ruleId)), result.presence);
      offerMetrics.latency.observe(Number(process.hrtime.bigint() - started) / 1e9);
      return { status: 'decided', record, offer };
    }
    if (winner && claimed && !(result.status === 'dup' && result.offerExists)) {
      await releaseBudget(ctx.redis, ctx.keyPrefix, winner.rule, offerIds.get(winner.rule.id) ?? '', d.at);
    }
    if (result.status === 'dup') {
      if (winner && offer && result.offerExists) await ensureJobs(ctx, d, winner.rule, offer);
      return duplicate();
    }
    if (winner) refusals.set(winner.rule.id, refusalVerdict(result.outcome, result.value, winner.rule, cap));
  }
  // programmer error: each attempt reads afresh, so only a verdict the script can never agree with is refused every time
  throw new Error(`decision for event ${d.eventId} of player ${d.playerId} kept being refused; retried ${MAX_ATTEMPTS} times`);
}

/**
 * The player's last purchase as the decided event sees it: the later of the state applied
 * with that event and the state hash's value, the latter only when it is not after the
 * event (processors apply a whole chunk before deciding it, so the hash may already hold a
 * purchase that comes later). decidePlayers-n.lua applies the same rule.
 */
export function purchaseAsOfEvent(d: Pick<DecisionInput, 'input' | 'at'>, fromHash: number | null): number | null {
  const v = d.input.player.last_purchase_at;
  const own = typeof v === 'number' && Number.isFinite(v) ? v : null;
  const stored = fromHash !== null && fromHash <= d.at ? fromHash : null;
  if (own === null) return stored;
  return stored === null ? own : Math.max(own, stored);
}

function duplicate(): DecisionOutcome {
  offerMetrics.duplicates.inc();
  return { status: 'duplicate' };
}

/** Claims budget for live candidates in priority order; an exhausted budget moves on to the next. */
async function pickWinner(
  ctx: EngineContext,
  d: DecisionInput,
  live: readonly Considered[],
  verdicts: Map<string, LimitVerdict | null>,
  offerIds: ReadonlyMap<string, string>,
): Promise<{ winner: Considered | null; claimed: boolean }> {
  for (const c of live) {
    const r = await reserveBudget(ctx.redis, ctx.keyPrefix, c.rule, offerIds.get(c.rule.id) ?? '', d.at);
    if (r.status !== 'exhausted') return { winner: c, claimed: r.status === 'claimed' };
    verdicts.set(c.rule.id, budgetVerdict(c.rule, r.used));
  }
  return { winner: null, claimed: false };
}

function refusalVerdict(outcome: string, value: number, rule: Rule, cap: DailyCap): LimitVerdict {
  switch (outcome) {
    case 'cooldown':
      return { outcome: 'cooldown', until: value };
    case 'cap_reached':
      return { outcome: 'cap_reached', count: value, max: rule.limits.maxPerPlayer ?? value };
    case 'fatigue_daily_cap':
      return { outcome: 'fatigue_daily_cap', count: value, max: cap.max ?? value, ...(cap.segment !== null ? { segment: cap.segment } : {}) };
    case 'fatigue_after_purchase':
      return { outcome: 'fatigue_after_purchase', until: value };
    default:
      return { outcome: 'fatigue_after_decline', until: value };
  }
}

/** Stats, metrics, routing and lifecycle jobs of a decision just recorded. */
async function afterDecision(
  ctx: EngineContext,
  d: DecisionInput,
  considered: readonly Considered[],
  record: DecisionRecord,
  winner: Considered | null,
  offer: Offer | null,
  opened: readonly Exposure[],
  presence: readonly string[],
): Promise<void> {
  for (const r of record.rules) offerMetrics.decisions.inc({ outcome: r.outcome, mode: r.mode });
  const stats = considered
    .filter((c) => c.matched)
    .map((c) => {
      const outcome = record.rules.find((r) => r.ruleId === c.rule.id)?.outcome;
      const counts: Record<string, number> = { triggered: 1 };
      if (outcome === 'offered') counts.offered = 1;
      if (outcome === 'shadow') counts.shadow_offered = 1;
      return incrStats(ctx.redis, ctx.keyPrefix, c.rule.id, variantLabel(c.variant?.name), counts);
    });
  // Each window the decision opened: one more exposed player of that rule and group.
  for (const e of opened) stats.push(incrStats(ctx.redis, ctx.keyPrefix, e.ruleId, e.group, { exposed: 1 }));
  stats.push(new SegmentSizes(ctx.keyPrefix).add(d.playerId, d.at, d.bundle.segments.evaluate(d.input)).flush(ctx.redis));
  if (!winner || !offer) {
    await Promise.all(stats);
    return;
  }
  const route = publishTraced(ctx, d.playerId, offer, d.trace, presence).catch((err: unknown) => {
    ctx.log.warn({ err, player: d.playerId, offer: offer.id }, 'offer routing failed; it stays in the inbox for the next connect');
    return 0;
  });
  const [routed] = await Promise.all([route, ensureJobs(ctx, d, winner.rule, offer), ...stats]);
  if (routed > 0) {
    offerMetrics.delivered.inc();
    await incrStats(ctx.redis, ctx.keyPrefix, winner.rule.id, variantLabel(offer.variant), { delivered: 1 });
  }
}

/** The follow-up job of an offer its rule made, or null when the rule has no follow-up. */
export function followUpJobOf(d: Pick<DecisionInput, 'playerId' | 'at' | 'input'>, rule: Rule, offer: Offer): FollowUpJob | null {
  const fu = rule.followUp;
  if (!fu) return null;
  return {
    playerId: d.playerId,
    offerId: offer.id,
    ruleId: rule.id,
    followUpRule: fu.rule,
    unless: fu.unless,
    dueAt: d.at + fu.afterMs,
    event: { id: d.input.event.id, type: d.input.event.type, ts: d.input.event.ts, data: { ...d.input.event.data } },
  };
}

/** Expiry and follow-up jobs of a made offer; idempotent by job id. */
async function ensureJobs(ctx: EngineContext, d: DecisionInput, rule: Rule, offer: Offer): Promise<void> {
  const followUp = followUpJobOf(d, rule, offer);
  if (!ctx.queues) {
    if (followUp) ctx.followUps?.(followUp);
    return;
  }
  await ctx.queues.scheduleExpiry(d.playerId, offer);
  if (followUp) await ctx.queues.scheduleFollowUp(followUp);
}
