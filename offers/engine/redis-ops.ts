import { offerKeys, playerKeys } from '../../lib/keys.ts';
import type { Rule } from '../../designer/types.ts';
import type { Offer } from '../../protocol/offer.ts';
import type { DecisionRecord } from './explain.ts';
import { encodeDecision } from './explain-codec.ts';
import { budgetWindowEnd, budgetWindowStart, DAY_MS, HOUR_MS, type PlayerCounters } from './limits.ts';
import { decodeLedger, encodeLedgerRecord, type LedgerRecord } from './offer.ts';
import type { EngineCommands } from './scripts.ts';
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
 * One round trip on the player's slot: whether the event was decided (its offset at or
 * below its partition's decided marker), and the counters the limit checks need.
 */
export async function readCounters(
  redis: Client,
  prefix: string,
  playerId: string,
  position: EventPosition | null,
  ruleIds: readonly string[],
): Promise<{ decided: boolean; counters: PlayerCounters }> {
  const k = playerKeys(prefix, playerId);
  const marker = decidedMarker(position);
  const fields = [marker ?? 'd:', ...ruleIds.flatMap((id) => [`cd:${id}`, `n:${id}`])];
  const pipe = redis.pipeline();
  pipe.hmget(k.state, 'offers_today', 'offers_day', 'last_purchase_at', 'last_decline_at');
  pipe.hmget(k.limits, ...fields);
  const res = (await pipe.exec()) ?? [];
  for (const [err] of res) if (err) throw err;
  const st = (res[0]?.[1] ?? []) as (string | null)[];
  const all = (res[1]?.[1] ?? []) as (string | null)[];
  const mark = num(all[0]);
  const decided = position !== null && mark !== null && Number(position.offset) <= mark;
  const lim = all.slice(1);
  const rules = new Map<string, { cooldownUntil: number | null; lifetime: number }>();
  ruleIds.forEach((id, i) => rules.set(id, { cooldownUntil: num(lim[2 * i]), lifetime: num(lim[2 * i + 1]) ?? 0 }));
  return {
    decided,
    counters: {
      rules,
      offersToday: num(st[0]) ?? 0,
      offersDay: num(st[1]),
      lastPurchaseAt: num(st[2]),
      lastDeclineAt: num(st[3]),
    },
  };
}

/** Budget claims so far in the window of `now` (read only). */
export async function budgetUsed(redis: Client, prefix: string, rule: Rule, now: number): Promise<number> {
  const b = rule.limits.budget;
  if (!b) return 0;
  return redis.scard(offerKeys(prefix).budget(rule.id, budgetWindowStart(now, b.per)));
}

/**
 * How long a budget window's claims outlive the latest claim, by the Redis server clock: the
 * window's length plus a day, so decisions of that window arriving late (a consumer backlog,
 * a replay) still find every claim made for it.
 */
export function budgetKeepMs(per: 'day' | 'hour'): number {
  return (per === 'day' ? DAY_MS : HOUR_MS) + DAY_MS;
}

export type Reservation = { status: 'claimed' | 'held' | 'exhausted'; used: number };

/** Claims one unit of the rule's budget for `offerId` in the window of `now`; idempotent per offer id. */
export async function reserveBudget(redis: Client, prefix: string, rule: Rule, offerId: string, now: number): Promise<Reservation> {
  const b = rule.limits.budget;
  if (!b) return { status: 'claimed', used: 0 };
  const key = offerKeys(prefix).budget(rule.id, budgetWindowStart(now, b.per));
  const [status, used] = await redis.reserveBudget(key, offerId, b.count, budgetWindowEnd(now, b.per) + DAY_MS, budgetKeepMs(b.per));
  return { status: status === 1 ? 'claimed' : status === 2 ? 'held' : 'exhausted', used: Number(used) };
}

/** Gives a claim back (the player script refused, or the offer was never made). */
export async function releaseBudget(redis: Client, prefix: string, rule: Rule, offerId: string, now: number): Promise<void> {
  const b = rule.limits.budget;
  if (!b) return;
  await redis.srem(offerKeys(prefix).budget(rule.id, budgetWindowStart(now, b.per)), offerId);
}

export interface OfferWrite {
  readonly rule: Rule;
  readonly offer: Offer;
  readonly ledger: LedgerRecord;
  readonly cooldownUntil: number | null;
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

/** Runs decide-6.lua: marker, limits re-check and consumption, inbox, ledger, explanation, expiries. */
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
  const k = playerKeys(prefix, playerId);
  const position = 'position' in mark ? mark.position : null;
  const args: (string | Buffer | number)[] = [
    k.limits, k.state, k.inbox, k.offers, k.ledger, k.decisions,
    decidedMarker(position) ?? '', position ? position.offset : '', 'followUpOf' in mark ? mark.followUpOf : '',
    now, encodeDecision(record), DECISIONS_KEPT, LEDGER_KEPT, LEDGER_KEEP_MS, retentionMs, Math.min(DECISIONS_KEEP_MS, retentionMs),
  ];
  if (write) {
    args.push(
      write.offer.id,
      write.rule.id,
      opt(write.cooldownUntil),
      opt(write.rule.limits.maxPerPlayer),
      opt(write.maxPerDay),
      opt(write.quietAfterPurchaseMs),
      opt(write.quietAfterDeclineMs),
      JSON.stringify({ ...write.offer, createdAt: now }),
      encodeLedgerRecord(write.ledger),
      write.offer.expiresAt,
      opt(write.lastPurchaseAt),
    );
  } else {
    args.push('', '', '', '', '', '', '', '', '', '', '');
  }
  const res = (await redis.decide(...args)) as unknown[];
  const status = String(res[0]);
  if (status === 'ok') return { status: 'ok' };
  if (status === 'dup') return { status: 'dup', offerExists: Number(res[1]) === 1 };
  return { status: 'refused', outcome: String(res[1]), value: Number(res[2]) };
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
 * Adds to a rule's counters for one arm (variant, or `(holdout)`); `revenue` (offer
 * purchases) and `spend` (what the player spent in an attribution window) are per currency.
 */
export async function incrStats(
  redis: Client,
  prefix: string,
  ruleId: string,
  variant: string,
  counts: Readonly<Record<string, number>>,
  revenue?: Money,
  spend?: Money & { squareDelta?: number },
): Promise<void> {
  const keys = offerKeys(prefix);
  const key = keys.stats(ruleId);
  const pipe = redis.multi();
  for (const [name, n] of Object.entries(counts)) if (n !== 0) pipe.hincrby(key, `${variant}|${name}`, n);
  if (revenue) pipe.hincrby(key, `${variant}|revenue|${revenue.currency}`, revenue.amount);
  if (spend) {
    pipe.hincrby(key, `${variant}|spend|${spend.currency}`, spend.amount);
    if (spend.squareDelta) pipe.hincrby(key, `${variant}|spendsq|${spend.currency}`, spend.squareDelta);
  }
  await pipe.exec();
  const registration = `${prefix}\u0000${ruleId}`;
  if (!registeredStats.has(registration)) {
    await redis.sadd(keys.statsRules, ruleId);
    registeredStats.add(registration);
  }
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
