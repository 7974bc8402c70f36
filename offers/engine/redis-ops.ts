import { offerKeys, playerKeys } from '../../lib/keys.ts';
import type { Rule } from '../../offers/designer/types.ts';
import type { Offer } from '../../protocol/offer.ts';
import type { DecisionRecord } from './explain.ts';
import { budgetWindowEnd, budgetWindowStart, DAY_MS, HOUR_MS, type PlayerCounters } from './limits.ts';
import type { LedgerRecord } from './offer.ts';
import type { EngineCommands } from './scripts.ts';
import type { RedisClient } from '../../lib/redis.ts';

/**
 * The engine's Redis reads and writes. Per-player work touches only keys with the player's
 * hash tag; budgets and stats live in their rules' own slots (lib/keys.ts).
 */
export const DECISIONS_KEPT = 50;
export const DECIDED_KEPT = 5_000;
export const LEDGER_KEPT = 200;
export const ATTRIBUTED_KEPT = 5_000;

type Client = RedisClient & EngineCommands;

const num = (v: string | null | undefined): number | null => {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};

/** One round trip on the player's slot: whether the event was decided, and the counters the limit checks need. */
export async function readCounters(
  redis: Client,
  prefix: string,
  playerId: string,
  eventId: string,
  ruleIds: readonly string[],
): Promise<{ decided: boolean; counters: PlayerCounters }> {
  const k = playerKeys(prefix, playerId);
  const fields = ruleIds.flatMap((id) => [`cd:${id}`, `n:${id}`]);
  const pipe = redis.pipeline();
  pipe.zscore(k.decided, eventId);
  pipe.hmget(k.state, 'offers_today', 'offers_day', 'last_purchase_at', 'last_decline_at');
  if (fields.length > 0) pipe.hmget(k.limits, ...fields);
  const res = (await pipe.exec()) ?? [];
  for (const [err] of res) if (err) throw err;
  const decided = res[0]?.[1] !== null && res[0]?.[1] !== undefined;
  const st = (res[1]?.[1] ?? []) as (string | null)[];
  const lim = (fields.length > 0 ? (res[2]?.[1] ?? []) : []) as (string | null)[];
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

/** Runs decide-8.lua: marker, limits re-check and consumption, inbox, ledger, explanation. */
export async function runDecide(
  redis: Client,
  prefix: string,
  playerId: string,
  eventId: string,
  now: number,
  record: DecisionRecord,
  write: OfferWrite | null,
): Promise<DecideResult> {
  const k = playerKeys(prefix, playerId);
  const args: (string | number)[] = [
    k.decided, k.limits, k.state, k.inbox, k.offers, k.ledger, k.ledgerIdx, k.decisions,
    eventId, now, JSON.stringify(record), DECISIONS_KEPT, DECIDED_KEPT, LEDGER_KEPT,
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
      JSON.stringify(write.ledger),
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
): Promise<RespondResult> {
  const k = playerKeys(prefix, playerId);
  const res = (await redis.respond(k.ledger, k.inbox, k.offers, k.state, offerId, kind, now, amount === null ? '' : amount)).map(String);
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

/** Runs spend-2.lua: the windows one spend event counts towards, or null when it was attributed before. */
export async function runSpend(redis: Client, prefix: string, playerId: string, eventId: string, now: number, money: Money): Promise<SpendWindow[] | null> {
  const k = playerKeys(prefix, playerId);
  const res = (await redis.spend(k.attribution, k.attributed, eventId, now, ATTRIBUTED_KEPT, money.currency, money.amount)).map(String);
  if (res[0] === 'dup') return null;
  const out: SpendWindow[] = [];
  for (let i = 1; i + 2 < res.length; i += 3) out.push({ ruleId: res[i] as string, group: res[i + 1] as string, squareDelta: Number(res[i + 2]) });
  return out;
}

/** Ledger record of one offer, or null. */
export async function readLedger(redis: RedisClient, prefix: string, playerId: string, offerId: string): Promise<LedgerRecord | null> {
  const raw = await redis.hget(playerKeys(prefix, playerId).ledger, offerId);
  return raw ? (JSON.parse(raw) as LedgerRecord) : null;
}
