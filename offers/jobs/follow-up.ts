import type { Job } from 'bullmq';
import type { Bundle, BundleSource } from '../../designer/types.ts';
import { decideEvent, type EngineContext } from '../engine/decide.ts';
import type { DecisionRecord } from '../engine/explain.ts';
import { playerView, withSegments } from '../engine/input.ts';
import { readLedger } from '../engine/redis-ops.ts';
import type { PlayerState } from '../../processors/decider-seam.ts';
import type { FollowUpJob } from './queues.ts';

/** Reads a player's state as the rules see it at `now`. */
export type ReadState = (playerId: string, bundle: Bundle, now: number) => Promise<PlayerState>;

/** Responses that cancel a follow-up with `unless: <kind>`: the kind itself and the ones that imply it. */
const CANCELLED_BY: Readonly<Record<string, readonly string[]>> = {
  'offer.shown': ['shown', 'accepted', 'declined', 'purchased'],
  'offer.accepted': ['accepted', 'purchased'],
  'offer.declined': ['declined'],
  'offer.purchased': ['purchased'],
};

export function followUpCancelled(unless: string, responses: Readonly<Record<string, number>>): boolean {
  return (CANCELLED_BY[unless] ?? [unless.replace(/^offer\./, '')]).some((k) => responses[k] !== undefined);
}

/** What a due follow-up came to; `decided` carries the decision recorded. */
export type FollowUpOutcome =
  | { readonly result: 'unknown_offer' | 'cancelled' | 'rule_not_published' | 'duplicate' }
  | { readonly result: 'offered' | 'not_offered'; readonly record: DecisionRecord };

/**
 * Runs a due follow-up. Unless the first offer got the `unless` response, the follow-up rule
 * (as currently published; skipped when gone or disabled) is decided for the player through
 * the whole pipeline — arm, holdout, cooldown, cap, budget, fatigue — as a triggering event
 * of its own: id `followup.<first offer id>`, time `dueAt`, `event` = the event that
 * triggered the first offer, `player` = the player's state now. Its offer id is therefore
 * deterministic too, and a re-run job decides nothing twice.
 */
export async function runFollowUp(engine: EngineContext, bundles: BundleSource, readState: ReadState, job: Job<FollowUpJob>): Promise<string> {
  return (await decideFollowUp(engine, bundles.current(), readState, job.data)).result;
}

/** The decision of `runFollowUp` for one due follow-up; backtests call it at the job's due time in the replay. */
export async function decideFollowUp(engine: EngineContext, bundle: Bundle, readState: ReadState, d: FollowUpJob): Promise<FollowUpOutcome> {
  const first = await readLedger(engine.redis, engine.keyPrefix, d.playerId, d.offerId);
  if (!first) return { result: 'unknown_offer' };
  if (followUpCancelled(d.unless, first.responses)) return { result: 'cancelled' };
  const rule = bundle.rules.find((r) => r.id === d.followUpRule);
  if (!rule || !rule.enabled) return { result: 'rule_not_published' };
  const state = await readState(d.playerId, bundle, d.dueAt);
  const outcome = await decideEvent(engine, {
    playerId: d.playerId,
    eventId: `followup.${d.offerId}`,
    eventType: d.event.type,
    at: d.dueAt,
    input: withSegments({ event: d.event, player: playerView(state) }, bundle),
    rules: [rule],
    bundle,
    followUpOf: d.offerId,
  });
  if (outcome.status === 'duplicate') return { result: 'duplicate' };
  return { result: outcome.offer ? 'offered' : 'not_offered', record: outcome.record };
}
