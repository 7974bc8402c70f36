import type { ConditionInput, Policy, Rule, Variant } from '../../designer/types.ts';
import { assignVariant, inHoldout } from './hashing.ts';
import { readValues } from './input.ts';
import { budgetVerdict, fatigueVerdict, ruleLimitVerdict, type DailyCap, type LimitVerdict, type PlayerCounters } from './limits.ts';

/**
 * The pure half of a decision. Step 1 (`considerRules`) needs only the event and the fresh
 * player state: condition, experiment arm, global holdout. Step 2 (`limitVerdicts`) adds
 * the per-player counters and budget use read from Redis: cooldown, lifetime cap, budget,
 * fatigue — in that order. The engine then reserves budget for the best candidate and
 * runs the player script, which re-checks step 2 atomically.
 */
export type PreOutcome = 'outside_schedule' | 'condition_false' | 'control_arm' | 'holdout';

export interface Considered {
  readonly rule: Rule;
  readonly variant: Variant | null;
  readonly values: Readonly<Record<string, unknown>>;
  readonly error?: string;
  /** True when the condition held (the rule "triggered"). */
  readonly matched: boolean;
  /** Why the rule stops before limits; null when it goes on to the limit checks. */
  readonly pre: PreOutcome | null;
  /** With `outside_schedule`: the next instant the rule's schedule holds, or null when it never does again. */
  readonly nextStart?: number | null;
}

const NO_VALUES: Readonly<Record<string, unknown>> = Object.freeze({});

/** The current shares of a bandit rule's arms (bandit-cache.ts); undefined: by weight. */
export type SharesOf = (rule: Rule) => readonly number[] | undefined;

/**
 * Evaluates every candidate rule for one event, in the given (priority) order. `at` is the
 * event's time (recvAt, or a follow-up's due time): a rule whose schedule does not hold then
 * is `outside_schedule`, and its condition is not evaluated. `sharesOf` gives the arms' shares
 * of bandit rules (absent: every rule by weight).
 */
export function considerRules(rules: readonly Rule[], input: ConditionInput, playerId: string, policy: Policy, at: number, sharesOf?: SharesOf): Considered[] {
  const holdout = inHoldout(playerId, policy.holdoutPercent);
  const armOf = (rule: Rule) => assignVariant(playerId, rule, rule.experiment?.bandit && sharesOf ? sharesOf(rule) : undefined);
  return rules.map((rule): Considered => {
    if (rule.schedule) {
      const zoneProp = rule.schedule.spec.playerTimeZone;
      const s = (zoneProp ? rule.schedule.forZone(input.player[zoneProp]) : rule.schedule).at(at);
      if (!s.active) {
        const values = zoneProp ? { [`player.${zoneProp}`]: input.player[zoneProp] ?? null } : NO_VALUES;
        return { rule, variant: armOf(rule), values, matched: false, pre: 'outside_schedule', nextStart: s.nextStart };
      }
    }
    const cond = rule.trigger.when;
    const result = cond === null ? { value: true } : cond.evaluate(input);
    const variant = armOf(rule);
    const matched = result.value;
    const pre: PreOutcome | null = !matched ? 'condition_false' : variant?.holdout ? 'control_arm' : holdout ? 'holdout' : null;
    const c: { -readonly [K in keyof Considered]: Considered[K] } = { rule, variant, values: cond === null ? {} : readValues(input, cond.reads), matched, pre };
    if (result.error !== undefined) c.error = result.error;
    return c;
  });
}

/**
 * The arms pinned to the player (`counters.rules.get(id).arm`: the arm of their first offer
 * of a bandit rule, read from the limits hash) replace the arms the current shares gave, for
 * the bandit rules that reached the limit checks. A pinned arm that is no longer a variant of
 * the rule (renamed, removed, made a holdout) is ignored. Returns `considered` itself when
 * nothing changes.
 */
export function pinArms(considered: readonly Considered[], counters: PlayerCounters): readonly Considered[] {
  let out: Considered[] | null = null;
  considered.forEach((c, i) => {
    const name = c.pre === null && c.rule.experiment?.bandit ? counters.rules.get(c.rule.id)?.arm : null;
    if (!name || name === c.variant?.name) return;
    const pinned = c.rule.experiment?.variants.find((v) => v.name === name && !v.holdout);
    if (!pinned) return;
    out ??= [...considered];
    out[i] = { ...c, variant: pinned };
  });
  return out ?? considered;
}

/** Rules that reach the limit checks. */
export function limitCandidates(considered: readonly Considered[]): Considered[] {
  return considered.filter((c) => c.pre === null);
}

/**
 * The limit verdict of each rule that reached the limit checks (by rule id): null when it
 * may offer. `budgetUsed` is the count read for the rule's current window (absent: 0).
 * `cap` is the player's daily cap (default: the policy's global one).
 */
export function limitVerdicts(
  considered: readonly Considered[],
  counters: PlayerCounters,
  budgetUsed: ReadonlyMap<string, number>,
  policy: Policy,
  now: number,
  cap?: DailyCap,
): Map<string, LimitVerdict | null> {
  const out = new Map<string, LimitVerdict | null>();
  for (const c of limitCandidates(considered)) {
    const verdict =
      ruleLimitVerdict(c.rule, counters, now) ??
      budgetVerdict(c.rule, budgetUsed.get(c.rule.id) ?? 0) ??
      fatigueVerdict(policy, counters, now, cap);
    out.set(c.rule.id, verdict);
  }
  return out;
}

/** Live rules that may offer, best first: the engine tries them in this order. */
export function liveCandidates(considered: readonly Considered[], verdicts: ReadonlyMap<string, LimitVerdict | null>): Considered[] {
  return considered.filter((c) => c.pre === null && c.rule.mode === 'live' && verdicts.get(c.rule.id) === null);
}
