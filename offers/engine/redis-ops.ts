import { offerKeys, playerKeys } from '../../lib/keys.ts';
import type { Rule } from '../../designer/types.ts';
import type { Offer } from '../../protocol/offer.ts';
import type { DecisionRecord } from './explain.ts';
import { encodeDecision } from './explain-codec.ts';
import { budgetWindowEnd, budgetWindowStart, DAY_MS, HOUR_MS, type PlayerCounters } from './limits.ts';
import { decodeLedger, encodeLedgerRecord, type LedgerRecord } from './offer.ts';
import type { EngineCommands } from './scripts.ts';
import { hourOf, isTimelineField, TIMELINE_TTL_MS } from './timeline.ts';
import type { RedisClient } from '../../lib/redis.ts';

/**
 * The engine's Redis reads and writes. Per-player work touches only keys with the player's
 * hash tag; budgets and stats live in their rules' own slots (lib/keys.ts).
 */
/** Compact explanations each player keeps in Redis (older ones: the decision stream, decision-log.ts). */
export const DECISIONS_KEPT = 3;
/** They expire this long after the player's latest decision (or after the retention, when shorter). */
export const DECISIONS_KEEP_MS = 7 * 86_400_000;
/** Lifecycle records kept per player: the latest offers, and none created longer ago than LEDGER_KEEP_MS. */
export const LEDGER_KEPT = 10;
export const LEDGER_KEEP_MS = 30 * 86_400_000;

type Client = RedisClient & EngineCommands;

const num = (v: string | null | undefined): number | null => {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};

/** The decided marker of an event: the `limits` field of its partition, or null for a follow-up (marked in its first offer's ledger record). */
export function decidedMarker(position: EventPosition | null): string | null {
  return position ? `d:${position.partition}` : null;
}

/**
 * One round trip on the player's slot: the decided markers asked for (`d:<partition>` ->
 * offset, null when none), the counters the limit checks of `ruleIds` need, and the arms
 * pinned to the player of the bandit rules `pinnedRuleIds` (a subset of `ruleIds`).
 */
export async function readPlayerCounters(
  redis: Client,
  prefix: string,
  playerId: string,
  markerFields: readonly string[],
  ruleIds: readonly string[],
  pinnedRuleIds: readonly string[] = [],
): Promise<{ markers: Map<string, number | null>; counters: PlayerCounters }> {
  const k = playerKeys(prefix, playerId);
  const fields = [...markerFields, ...ruleIds.flatMap((id) => [`cd:${id}`, `n:${id}`]), ...pinnedRuleIds.map((id) => `a:${id}`)];
  // Two commands on the player's slot, sent together (no MULTI or pipeline object: on an
  // auto-pipelined client a chunk's reads of every player leave as one write).
  const [st, all] = await Promise.all([
    redis.hmget(k.state, 'offers_today', 'offers_day', 'last_purchase_at', 'last_decline_at'),
    fields.length > 0 ? redis.hmget(k.limits, ...fields) : Promise.resolve([] as (string | null)[]),
  ]);
  const markers = new Map<string, number | null>();
  markerFields.forEach((f, i) => markers.set(f, num(all[i])));
  const lim = all.slice(markerFields.length);
  const rules = new Map<string, { cooldownUntil: number | null; lifetime: number; arm?: string | null }>();
  ruleIds.forEach((id, i) => rules.set(id, { cooldownUntil: num(lim[2 * i]), lifetime: num(lim[2 * i + 1]) ?? 0 }));
  pinnedRuleIds.forEach((id, i) => {
    const r = rules.get(id);
    if (r) r.arm = lim[2 * ruleIds.length + i] ?? null;
  });
  return {
    markers,
    counters: {
      rules,
      offersToday: num(st[0]) ?? 0,
      offersDay: num(st[1]),
      lastPurchaseAt: num(st[2]),
      lastDeclineAt: num(st[3]),
    },
  };
}

/** Whether an event at `position` is at or below its partition's decided marker. */
export function isDecided(markers: ReadonlyMap<string, number | null>, position: EventPosition | null): boolean {
  const field = decidedMarker(position);
  const mark = field === null ? null : (markers.get(field) ?? null);
  return position !== null && mark !== null && Number(position.offset) <= mark;
}

/** One event's decided marker, the counters of `ruleIds` and the pinned arms of `pinnedRuleIds`, in one round trip (the per-event path). */
export async function readCounters(
  redis: Client,
  prefix: string,
  playerId: string,
  position: EventPosition | null,
  ruleIds: readonly string[],
  pinnedRuleIds: readonly string[] = [],
): Promise<{ decided: boolean; counters: PlayerCounters }> {
  const marker = decidedMarker(position);
  const { markers, counters } = await readPlayerCounters(redis, prefix, playerId, marker ? [marker] : [], ruleIds, pinnedRuleIds);
  return { decided: isDecided(markers, position), counters };
}

/** A rule's budget window holding `now`: its claim set and what the claim script needs. */
export interface BudgetWindow {
  readonly key: string;
  readonly count: number;
  readonly keepUntil: number;
  readonly keepForMs: number;
}

/** The budget window of `rule` at `now`, or null for a rule without a budget. */
export function budgetWindow(prefix: string, rule: Rule, now: number): BudgetWindow | null {
  const b = rule.limits.budget;
  if (!b) return null;
  return {
    key: offerKeys(prefix).budget(rule.id, budgetWindowStart(now, b.per)),
    count: b.count,
    keepUntil: budgetWindowEnd(now, b.per) + DAY_MS,
    keepForMs: budgetKeepMs(b.per),
  };
}

/** Budget claims so far in the window of `now` (read only). */
export async function budgetUsed(redis: Client, prefix: string, rule: Rule, now: number): Promise<number> {
  const w = budgetWindow(prefix, rule, now);
  return w ? redis.scard(w.key) : 0;
}

/**
 * How long a budget window's claims outlive the latest claim, by the Redis server clock: the
 * window's length plus a day, so decisions of that window arriving late (a consumer backlog,
 * a replay) still find every claim made for it.
 */
export function budgetKeepMs(per: 'day' | 'hour'): number {
  return (per === 'day' ? DAY_MS : HOUR_MS) + DAY_MS;
}

export type ReservationStatus = 'claimed' | 'held' | 'exhausted';
export type Reservation = { status: ReservationStatus; used: number };

const RESERVATION: Record<number, ReservationStatus> = { 0: 'exhausted', 1: 'claimed', 2: 'held' };

/**
 * Claims one unit of the window for each offer id, in order, all or some (reserveBudget-1.lua):
 * one round trip whatever the number of offers. Idempotent per offer id.
 */
export async function claimBudget(redis: Client, w: BudgetWindow, offerIds: readonly string[]): Promise<{ used: number; statuses: ReservationStatus[] }> {
  const [used, ...codes] = await redis.reserveBudget(w.key, w.count, w.keepUntil, w.keepForMs, ...offerIds);
  return { used: Number(used), statuses: codes.map((c) => RESERVATION[Number(c)] ?? 'exhausted') };
}

/** Claims one unit of the rule's budget for `offerId` in the window of `now`; idempotent per offer id. */
export async function reserveBudget(redis: Client, prefix: string, rule: Rule, offerId: string, now: number): Promise<Reservation> {
  const w = budgetWindow(prefix, rule, now);
  if (!w) return { status: 'claimed', used: 0 };
  const { used, statuses } = await claimBudget(redis, w, [offerId]);
  return { status: statuses[0] ?? 'exhausted', used };
}

/** Gives claims back (the player script refused, or the offers were never made). */
export async function releaseClaims(redis: Client, w: BudgetWindow, offerIds: readonly string[]): Promise<void> {
  if (offerIds.length > 0) await redis.srem(w.key, ...offerIds);
}

/** Gives a claim back (the player script refused, or the offer was never made). */
export async function releaseBudget(redis: Client, prefix: string, rule: Rule, offerId: string, now: number): Promise<void> {
  const w = budgetWindow(prefix, rule, now);
  if (w) await releaseClaims(redis, w, [offerId]);
}

export interface OfferWrite {
  readonly rule: Rule;
  readonly offer: Offer;
  readonly ledger: LedgerRecord;
  readonly cooldownUntil: number | null;
  /** The player's daily cap: the policy's, or the tightest of their segments' (designer/segments.ts `dailyCapFor`). */
  readonly maxPerDay: number | null;
  readonly quietAfterPurchaseMs: number | null;
  readonly quietAfterDeclineMs: number | null;
  /** The player's last purchase as the decided event sees it (its applied state; see decide.ts). */
  readonly lastPurchaseAt: number | null;
}

export type DecideResult =
  | { status: 'ok' }
  | { status: 'dup'; offerExists: boolean }
  | { status: 'refused'; outcome: string; value: number };

const opt = (v: number | null) => (v === null ? '' : v);

/** How a decision is marked decided: by its event's Kafka position, or (a follow-up) in its first offer's ledger record. */
export type DecisionMark = { readonly position: EventPosition } | { readonly followUpOf: string };

/** One decision as decidePlayer-6.lua records it: its mark, time, explanation, and the offer it makes. */
export interface DecisionWrite {
  readonly mark: DecisionMark;
  readonly now: number;
  readonly record: DecisionRecord;
  readonly write: OfferWrite | null;
}

/** `index`: the decision (0-based) whose check stopped the call; nothing was written. */
export type PlayerDecideResult =
  | { status: 'ok' }
  | { status: 'dup'; index: number; offerExists: boolean }
  | { status: 'refused'; index: number; outcome: string; value: number };

/** Values per decision in decidePlayer-6.lua's ARGV. */
const DECISION_ARGS = 17;

function decisionArgs(d: DecisionWrite, out: (string | Buffer | number)[]): void {
  const position = 'position' in d.mark ? d.mark.position : null;
  out.push(decidedMarker(position) ?? '', position ? position.offset : '', 'followUpOf' in d.mark ? d.mark.followUpOf : '', d.now, encodeDecision(d.record));
  const w = d.write;
  if (!w) {
    for (let i = 5; i < DECISION_ARGS; i += 1) out.push('');
    return;
  }
  out.push(
    w.offer.id,
    w.rule.id,
    opt(w.cooldownUntil),
    opt(w.rule.limits.maxPerPlayer),
    opt(w.maxPerDay),
    opt(w.quietAfterPurchaseMs),
    opt(w.quietAfterDeclineMs),
    JSON.stringify({ ...w.offer, createdAt: d.now }),
    encodeLedgerRecord(w.ledger),
    w.offer.expiresAt,
    opt(w.lastPurchaseAt),
    w.rule.experiment?.bandit ? (w.offer.variant ?? '') : '',
  );
}

/**
 * Runs decidePlayer-6.lua: every decision of one player in one call — markers, limit
 * re-checks carried forward across the decisions, inbox, ledger, explanations, expiries —
 * all or nothing.
 */
export async function runDecidePlayer(
  redis: Client,
  prefix: string,
  playerId: string,
  decisions: readonly DecisionWrite[],
  retentionMs: number,
): Promise<PlayerDecideResult> {
  const k = playerKeys(prefix, playerId);
  const args: (string | Buffer | number)[] = [
    k.limits, k.state, k.inbox, k.offers, k.ledger, k.decisions,
    DECISIONS_KEPT, LEDGER_KEPT, LEDGER_KEEP_MS, retentionMs, Math.min(DECISIONS_KEEP_MS, retentionMs), decisions.length,
  ];
  for (const d of decisions) decisionArgs(d, args);
  const res = (await redis.decidePlayer(...args)) as unknown[];
  const status = String(res[0]);
  if (status === 'ok') return { status: 'ok' };
  const index = Number(res[1]) - 1;
  if (status === 'dup') return { status: 'dup', index, offerExists: Number(res[2]) === 1 };
  return { status: 'refused', index, outcome: String(res[2]), value: Number(res[3]) };
}

/** One decision on its own (the per-event slow path): decidePlayer-6.lua with one decision. */
export async function runDecide(
  redis: Client,
  prefix: string,
  playerId: string,
  mark: DecisionMark,
  now: number,
  record: DecisionRecord,
  write: OfferWrite | null,
  retentionMs: number,
): Promise<DecideResult> {
  const r = await runDecidePlayer(redis, prefix, playerId, [{ mark, now, record, write }], retentionMs);
  if (r.status === 'ok') return r;
  if (r.status === 'dup') return { status: 'dup', offerExists: r.offerExists };
  return { status: 'refused', outcome: r.outcome, value: r.value };
}

export type ResponseKind = 'shown' | 'accepted' | 'declined' | 'purchased' | 'expired' | 'granted' | 'follow_up';

export type RespondResult =
  | { status: 'unknown' }
  | { status: 'early'; expiresAt: number }
  | { status: 'dup' | 'moot'; ruleId: string; variant: string | null; revenue: number | null }
  | { status: 'ok'; ruleId: string; variant: string | null; revenue: number | null; currency: string };

/** Runs respond-4.lua: once per (offer id, kind). */
export async function runRespond(
  redis: Client,
  prefix: string,
  playerId: string,
  offerId: string,
  kind: ResponseKind,
  now: number,
  amount: number | null,
  retentionMs: number,
): Promise<RespondResult> {
  const k = playerKeys(prefix, playerId);
  const res = (await redis.respond(k.ledger, k.inbox, k.offers, k.state, offerId, kind, now, amount === null ? '' : amount, retentionMs)).map(String);
  const status = res[0];
  if (status === 'unknown') return { status: 'unknown' };
  if (status === 'early') return { status: 'early', expiresAt: Number(res[1]) };
  const ruleId = res[1] ?? '';
  const variant = res[2] ? res[2] : null;
  const revenue = res[3] ? Number(res[3]) : null;
  if (status === 'ok') return { status: 'ok', ruleId, variant, revenue, currency: res[4] ?? '' };
  return { status: status === 'dup' ? 'dup' : 'moot', ruleId, variant, revenue };
}

/** Rule ids this process has already added to `statsRules` (per key prefix). */
const registeredStats = new Set<string>();

/** An amount of money in minor units. */
export interface Money {
  readonly amount: number;
  readonly currency: string;
}

/**
 * Additions to rules' counters, summed in memory and written with one MULTI per rule
 * (`flush`): a chunk's decisions, routings and responses add up here instead of one write
 * each. Per arm (variant, or `(holdout)`); `revenue` (offer purchases) and `spend` (what the
 * player spent in an attribution window) are per currency.
 */
export class StatsDelta {
  private readonly byRule = new Map<string, Map<string, number>>();

  add(ruleId: string, variant: string, counts: Readonly<Record<string, number>>, revenue?: Money, spend?: Money & { squareDelta?: number }): this {
    let fields = this.byRule.get(ruleId);
    if (!fields) this.byRule.set(ruleId, (fields = new Map()));
    const inc = (field: string, n: number) => {
      if (n !== 0) fields.set(field, (fields.get(field) ?? 0) + n);
    };
    for (const [name, n] of Object.entries(counts)) inc(`${variant}|${name}`, n);
    if (revenue) inc(`${variant}|revenue|${revenue.currency}`, revenue.amount);
    if (spend) {
      inc(`${variant}|spend|${spend.currency}`, spend.amount);
      if (spend.squareDelta) inc(`${variant}|spendsq|${spend.currency}`, spend.squareDelta);
    }
    return this;
  }

  get empty(): boolean {
    return this.byRule.size === 0;
  }

  /**
   * Writes every addition (one MULTI per rule, sent together) and empties the delta. The
   * funnel stages (timeline.ts) also go to the rule's HASH of the current hour by `now`,
   * in the same MULTI, with one PEXPIRE: no extra round trip.
   */
  async flush(redis: RedisClient, prefix: string, now = Date.now()): Promise<void> {
    const keys = offerKeys(prefix);
    const writes: Promise<unknown>[] = [];
    for (const [ruleId, fields] of this.byRule) {
      if (fields.size > 0) {
        const pipe = redis.multi();
        const hourKey = keys.statsHour(ruleId, hourOf(now));
        let hourly = false;
        for (const [field, n] of fields) {
          pipe.hincrby(keys.stats(ruleId), field, n);
          if (isTimelineField(field)) {
            pipe.hincrby(hourKey, field, n);
            hourly = true;
          }
        }
        if (hourly) pipe.pexpire(hourKey, TIMELINE_TTL_MS);
        writes.push(pipe.exec());
      }
      const registration = `${prefix}\u0000${ruleId}`;
      if (!registeredStats.has(registration)) {
        writes.push(redis.sadd(keys.statsRules, ruleId).then(() => registeredStats.add(registration)));
      }
    }
    this.byRule.clear();
    await Promise.all(writes);
  }
}

/** Adds to one rule's counters for one arm, now (see StatsDelta). */
export async function incrStats(
  redis: Client,
  prefix: string,
  ruleId: string,
  variant: string,
  counts: Readonly<Record<string, number>>,
  revenue?: Money,
  spend?: Money & { squareDelta?: number },
): Promise<void> {
  await new StatsDelta().add(ruleId, variant, counts, revenue, spend).flush(redis, prefix);
}

/** Runs expose-1.lua: opens or extends attribution windows; resolves to the rule ids whose window opened now. */
export async function runExpose(
  redis: Client,
  prefix: string,
  playerId: string,
  now: number,
  windowMs: number,
  groups: readonly { ruleId: string; group: string }[],
): Promise<string[]> {
  if (groups.length === 0) return [];
  const args = groups.flatMap((g) => [g.ruleId, g.group]);
  return (await redis.expose(playerKeys(prefix, playerId).attribution, now, windowMs, ...args)).map(String);
}

/** One open attribution window a spend counts towards, with how much the square of its spend grew. */
export interface SpendWindow {
  ruleId: string;
  group: string;
  squareDelta: number;
}

/** Where an event sits in Kafka: what the decided and attributed markers compare. */
export interface EventPosition {
  readonly partition: number;
  readonly offset: string;
}

/**
 * Runs spend-1.lua: the windows one spend event counts towards, or null when it was
 * attributed before (its offset at or below the player's marker for its partition). `at`
 * null: an offer purchase, counted once by its response already.
 */
export async function runSpend(redis: Client, prefix: string, playerId: string, at: EventPosition | null, now: number, money: Money): Promise<SpendWindow[] | null> {
  const k = playerKeys(prefix, playerId);
  const res = (await redis.spend(k.attribution, at ? `|@${at.partition}` : '', now, at ? at.offset : 0, money.currency, money.amount)).map(String);
  if (res[0] === 'dup') return null;
  const out: SpendWindow[] = [];
  for (let i = 1; i + 2 < res.length; i += 3) out.push({ ruleId: res[i] as string, group: res[i + 1] as string, squareDelta: Number(res[i + 2]) });
  return out;
}

/** Ledger record of one offer, or null. */
export async function readLedger(redis: RedisClient, prefix: string, playerId: string, offerId: string): Promise<LedgerRecord | null> {
  return (await readPlayerLedger(redis, prefix, playerId)).get(offerId) ?? null;
}

/** Every ledger record of a player, by offer id. */
export async function readPlayerLedger(redis: RedisClient, prefix: string, playerId: string): Promise<Map<string, LedgerRecord>> {
  const key = playerKeys(prefix, playerId).ledger;
  try {
    return decodeLedger(await redis.getBuffer(key));
  } catch (err) {
    if (!(err instanceof Error && err.message.startsWith('WRONGTYPE'))) throw err;
    // A hash of JSON records left by an older version, until the player's next decision rewrites it.
    const out = new Map<string, LedgerRecord>();
    for (const [id, json] of Object.entries(await redis.hgetall(key))) out.set(id, JSON.parse(json) as LedgerRecord);
    return out;
  }
}

/** A segment's daily HyperLogLog lives this long after its latest write (relative: the Redis server's clock). */
export const SEGMENT_SIZE_TTL_MS = 3 * DAY_MS;

/**
 * The players decisions found in each active segment, per UTC day of the decision, to add
 * to the segments' HyperLogLogs: one MULTI (PFADD, PEXPIRE) per segment and day, all sent
 * together, so a chunk of decisions costs a few commands, not one round trip per event.
 */
export class SegmentSizes {
  private readonly byKey = new Map<string, Set<string>>();

  constructor(private readonly prefix: string) {}

  /** Each active segment `values` holds true for, counted for `playerId` on the UTC day of `at`. */
  add(playerId: string, at: number, values: Readonly<Record<string, boolean>>): this {
    const day = Math.floor(at / DAY_MS);
    for (const name in values) {
      if (values[name] !== true) continue;
      const key = offerKeys(this.prefix).segmentDay(name, day);
      let ids = this.byKey.get(key);
      if (!ids) this.byKey.set(key, (ids = new Set()));
      ids.add(playerId);
    }
    return this;
  }

  async flush(redis: RedisClient): Promise<void> {
    const writes: Promise<unknown>[] = [];
    for (const [key, ids] of this.byKey) writes.push(redis.multi().pfadd(key, ...ids).pexpire(key, SEGMENT_SIZE_TTL_MS).exec());
    this.byKey.clear();
    await Promise.all(writes);
  }
}

/** Approximate count of the players found in each segment on UTC day `day` (0 when none). */
export async function segmentSizes(redis: RedisClient, prefix: string, names: readonly string[], day: number): Promise<Map<string, number>> {
  const keys = offerKeys(prefix);
  const counts = await Promise.all(names.map((n) => redis.pfcount(keys.segmentDay(n, day))));
  return new Map(names.map((n, i) => [n, counts[i] ?? 0]));
}
