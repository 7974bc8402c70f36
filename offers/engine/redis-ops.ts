import { Packr } from 'msgpackr';
import { offerKeys, playerKeys } from '../../lib/keys.ts';
import type { Rule } from '../../designer/types.ts';
import type { Offer } from '../../protocol/offer.ts';
import type { DecisionRecord } from './explain.ts';
import { encodeDecision } from './explain-codec.ts';
import { budgetWindowEnd, budgetWindowStart, DAY_MS, HOUR_MS, type PlayerCounters } from './limits.ts';
import { decodeLedger, encodeLedgerRecord, type LedgerRecord } from './offer.ts';
import type { EngineCommands } from './scripts.ts';
import { hourOf, isTimelineField, TIMELINE_TTL_MS } from './timeline.ts';
import { multiPerSlot, slotGroups, type RedisClient } from '../../lib/redis.ts';

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

/** What the decision path reads of one player before it decides (see readPlayersCounters). */
export interface CountersAsk {
  readonly playerId: string;
  /** Decided marker fields (`d:<partition>`). */
  readonly markerFields: readonly string[];
  /** Rules whose limit checks need the player's counters (`cd:`, `n:`). */
  readonly ruleIds: readonly string[];
  /** Bandit rules among `ruleIds` whose arm pinned to the player is read too (`a:`). */
  readonly pinnedRuleIds?: readonly string[];
}

export interface PlayerCountersRead {
  /** `d:<partition>` -> offset, null when none. */
  readonly markers: Map<string, number | null>;
  readonly counters: PlayerCounters;
}

/**
 * Players per readPlayers-n.lua / decidePlayers-n.lua call. A command's cost on the client
 * (its object, promise, argument encoding and reply) was most of a chunk's read and write
 * time with one command per player; a call per group keeps that to a few per chunk, while a
 * call still holds Redis for a short time only (a group of 100 decisions is about 3 ms of
 * server time), so the other clients' commands are not held behind a whole chunk.
 */
export const PLAYERS_PER_CALL = 100;

/**
 * The decided markers, counters and pinned arms of many players (readPlayers-n.lua): one
 * call per group of PLAYERS_PER_CALL players sharing a Redis Cluster slot (any players on a
 * single Redis), all sent together. In the order of `asks`.
 */
export async function readPlayersCounters(redis: Client, prefix: string, asks: readonly CountersAsk[]): Promise<PlayerCountersRead[]> {
  const out: PlayerCountersRead[] = new Array(asks.length);
  const indexed = asks.map((ask, i) => ({ ask, i, keys: playerKeys(prefix, ask.playerId) }));
  await Promise.all(
    slotGroups(redis, indexed, (x) => x.keys.state, PLAYERS_PER_CALL).map(async (group) => {
      const keys: string[] = [];
      const args: (string | number)[] = [group.length];
      for (const { ask, keys: k } of group) {
        keys.push(k.state, k.limits);
        const pinned = ask.pinnedRuleIds ?? [];
        args.push(ask.markerFields.length + 2 * ask.ruleIds.length + pinned.length, ...ask.markerFields);
        for (const id of ask.ruleIds) args.push(`cd:${id}`, `n:${id}`);
        for (const id of pinned) args.push(`a:${id}`);
      }
      const replies = await redis.readPlayers(keys.length, ...keys, ...args);
      group.forEach(({ ask, i }, g) => {
        out[i] = countersOf(ask, (replies[g] ?? []) as (string | null)[]);
      });
    }),
  );
  return out;
}

/** One player's reply of readPlayers-n.lua: the four state fields, then the limits fields as asked. */
function countersOf(ask: CountersAsk, values: readonly (string | null)[]): PlayerCountersRead {
  const markers = new Map<string, number | null>();
  let at = 4;
  for (const f of ask.markerFields) markers.set(f, num(values[at++]));
  const rules = new Map<string, { cooldownUntil: number | null; lifetime: number; arm?: string | null }>();
  for (const id of ask.ruleIds) {
    rules.set(id, { cooldownUntil: num(values[at]), lifetime: num(values[at + 1]) ?? 0 });
    at += 2;
  }
  for (const id of ask.pinnedRuleIds ?? []) {
    const r = rules.get(id);
    if (r) r.arm = values[at] ?? null;
    at += 1;
  }
  return {
    markers,
    counters: { rules, offersToday: num(values[0]) ?? 0, offersDay: num(values[1]), lastPurchaseAt: num(values[2]), lastDeclineAt: num(values[3]) },
  };
}

/** One player's decided markers, counters and pinned arms (readPlayersCounters for one). */
export async function readPlayerCounters(
  redis: Client,
  prefix: string,
  playerId: string,
  markerFields: readonly string[],
  ruleIds: readonly string[],
  pinnedRuleIds: readonly string[] = [],
): Promise<PlayerCountersRead> {
  const [read] = await readPlayersCounters(redis, prefix, [{ playerId, markerFields, ruleIds, pinnedRuleIds }]);
  return read as PlayerCountersRead;
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
/**
 * Units of the rule's window used by offers other than `offerId`: a claim `offerId` holds
 * already (another processor deciding the same event) is its own, not a reason to refuse it
 * (decide-batch.ts, WindowUse.held). Two commands sent together: one round trip.
 */
export async function budgetUsed(redis: RedisClient, prefix: string, rule: Rule, now: number, offerId: string): Promise<number> {
  const w = budgetWindow(prefix, rule, now);
  if (!w) return 0;
  const [used, held] = await Promise.all([redis.scard(w.key), redis.sismember(w.key, offerId)]);
  return held === 1 ? used - 1 : used;
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
  | { status: 'ok'; opened: readonly string[]; presence: readonly string[] }
  | { status: 'dup'; offerExists: boolean }
  | { status: 'refused'; outcome: string; value: number };

/** How a decision is marked decided: by its event's Kafka position, or (a follow-up) in its first offer's ledger record. */
export type DecisionMark = { readonly position: EventPosition } | { readonly followUpOf: string };

/** A live rule the decided event triggered, and the player's group in it: its attribution window opens (docs/offers.md, "Lift"). */
export interface Exposure {
  readonly ruleId: string;
  readonly group: string;
}

/** One decision as decidePlayers-n.lua records it: its mark, time, explanation, the offer it makes, the windows it opens. */
export interface DecisionWrite {
  readonly mark: DecisionMark;
  readonly now: number;
  readonly record: DecisionRecord;
  /** `record` in its compact form (explain-codec.ts), when already encoded: the decision stream sends the same bytes. */
  readonly compact?: Buffer;
  readonly write: OfferWrite | null;
  /** Empty without a revenue event in the policy. */
  readonly exposures: readonly Exposure[];
}

/**
 * `opened`: per decision (0-based), the rule ids whose attribution window it opened (not
 * merely extended). `presence`: when an offer was made, the player's presence hash as a flat
 * list `[edge instance id, expiry, …]`, read after the offer went into the inbox (routing
 * publishes with it, protocol/offer-channel.ts); otherwise empty. `index`: the decision (0-based) whose check stopped the call; nothing
 * was written.
 */
export type PlayerDecideResult =
  | { status: 'ok'; opened: ReadonlyMap<number, readonly string[]>; presence: readonly string[] }
  | { status: 'dup'; index: number; offerExists: boolean }
  | { status: 'refused'; index: number; outcome: string; value: number };

/** Values per decision in decidePlayers-n.lua's value array. */
const DECISION_VALUES = 18;

/** Packs decidePlayers-n.lua's value array: strings only, as its MessagePack reader reads them. */
const valuesPackr = new Packr({ useRecords: false, variableMapSize: true, moreTypes: false });

const str = (v: number | null) => (v === null ? '' : String(v));

/**
 * One decision's 18 values onto `values`, its two binary values onto `args` (decidePlayers-n.lua
 * takes them as arguments of their own: its MessagePack reader has no binary type; the value
 * is their index in ARGV).
 */
function decisionValues(d: DecisionWrite, values: DecisionValue[], args: (string | Buffer | number)[]): void {
  const position = 'position' in d.mark ? d.mark.position : null;
  args.push(d.compact ?? encodeDecision(d.record));
  values.push(decidedMarker(position) ?? '', position ? position.offset : '', 'followUpOf' in d.mark ? d.mark.followUpOf : '', String(d.now), String(args.length));
  const w = d.write;
  if (!w) {
    for (let i = 5; i < DECISION_VALUES - 1; i += 1) values.push('');
    values.push(exposureValue(d.exposures));
    return;
  }
  args.push(encodeLedgerRecord(w.ledger));
  values.push(
    w.offer.id,
    w.rule.id,
    str(w.cooldownUntil),
    str(w.rule.limits.maxPerPlayer ?? null),
    str(w.maxPerDay),
    str(w.quietAfterPurchaseMs),
    str(w.quietAfterDeclineMs),
    JSON.stringify({ ...w.offer, createdAt: d.now }),
    String(args.length),
    String(w.offer.expiresAt),
    str(w.lastPurchaseAt),
    w.rule.experiment?.bandit ? (w.offer.variant ?? '') : '',
    exposureValue(d.exposures),
  );
}

/** Value 18: rule id, group, rule id, group, … */
function exposureValue(exposures: readonly Exposure[]): string[] {
  const out: string[] = [];
  for (const e of exposures) out.push(e.ruleId, e.group);
  return out;
}

/** A string, or (value 18 only) an array of strings. */
type DecisionValue = string | string[];

/** One player's decisions of a chunk step, for decidePlayers-n.lua. */
export interface PlayerDecisions {
  readonly playerId: string;
  readonly decisions: readonly DecisionWrite[];
}

/**
 * Runs decidePlayers-n.lua: for each player, every decision in one go — markers, limit
 * re-checks carried forward across the decisions, inbox, ledger, explanations, expiries —
 * all or nothing per player. One call per group of PLAYERS_PER_CALL players sharing a Redis
 * Cluster slot (any players on a single Redis), all sent together. Results in the order of
 * `players`.
 */
export async function runDecidePlayers(
  redis: Client,
  prefix: string,
  players: readonly PlayerDecisions[],
  retentionMs: number,
  attributionMs = 0,
): Promise<PlayerDecideResult[]> {
  const out: PlayerDecideResult[] = new Array(players.length);
  const indexed = players.map((p, i) => ({ p, i, keys: playerKeys(prefix, p.playerId) }));
  const explanationsKeepMs = Math.min(DECISIONS_KEEP_MS, retentionMs);
  await Promise.all(
    slotGroups(redis, indexed, (x) => x.keys.limits, PLAYERS_PER_CALL).map(async (group) => {
      const keys: string[] = [];
      // ARGV[7], the value array, is packed once every decision of the group is on it.
      const args: (string | Buffer | number)[] = [DECISIONS_KEPT, LEDGER_KEPT, LEDGER_KEEP_MS, retentionMs, explanationsKeepMs, group.length, '', attributionMs];
      const values: DecisionValue[] = [];
      for (const { p, keys: k } of group) {
        keys.push(k.limits, k.state, k.inbox, k.offers, k.ledger, k.decisions, k.attribution, k.presence);
        values.push(String(p.decisions.length));
        for (const d of p.decisions) decisionValues(d, values, args);
      }
      args[6] = valuesPackr.pack(values);
      const replies = (await redis.decidePlayers(keys.length, ...keys, ...args)) as unknown[][];
      group.forEach(({ i }, g) => {
        out[i] = decideResultOf(replies[g] ?? []);
      });
    }),
  );
  return out;
}

function decideResultOf(res: readonly unknown[]): PlayerDecideResult {
  const status = String(res[0]);
  if (status === 'ok') {
    const opened = new Map<number, string[]>();
    const flat = (res[1] ?? []) as unknown[];
    for (let j = 0; j + 1 < flat.length; j += 2) {
      const i = Number(flat[j]) - 1;
      const ids = opened.get(i) ?? [];
      ids.push(String(flat[j + 1]));
      opened.set(i, ids);
    }
    return { status: 'ok', opened, presence: ((res[2] ?? []) as unknown[]).map(String) };
  }
  const index = Number(res[1]) - 1;
  if (status === 'dup') return { status: 'dup', index, offerExists: Number(res[2]) === 1 };
  return { status: 'refused', index, outcome: String(res[2]), value: Number(res[3]) };
}

/** Every decision of one player in one call (runDecidePlayers for one). */
export async function runDecidePlayer(
  redis: Client,
  prefix: string,
  playerId: string,
  decisions: readonly DecisionWrite[],
  retentionMs: number,
  attributionMs = 0,
): Promise<PlayerDecideResult> {
  const [r] = await runDecidePlayers(redis, prefix, [{ playerId, decisions }], retentionMs, attributionMs);
  return r as PlayerDecideResult;
}

/** One decision on its own (the per-event slow path): decidePlayers-n.lua with one player and one decision. */
export async function runDecide(
  redis: Client,
  prefix: string,
  playerId: string,
  mark: DecisionMark,
  now: number,
  record: DecisionRecord,
  write: OfferWrite | null,
  retentionMs: number,
  exposures: readonly Exposure[] = [],
  attributionMs = 0,
): Promise<DecideResult> {
  const r = await runDecidePlayer(redis, prefix, playerId, [{ mark, now, record, write, exposures }], retentionMs, attributionMs);
  if (r.status === 'ok') return { status: 'ok', opened: r.opened.get(0) ?? [], presence: r.presence };
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
 * Additions to rules' counters, summed in memory and written in one MULTI per slot
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
   * Writes every addition (each rule's in one MULTI with the other rules of its Redis Cluster
   * slot: one MULTI on a single Redis, lib/redis.ts multiPerSlot) and empties the delta. The
   * funnel stages (timeline.ts) also go to the rule's HASH of the current hour by `now`,
   * in the same MULTI, with one PEXPIRE: no extra round trip.
   */
  async flush(redis: RedisClient, prefix: string, now = Date.now()): Promise<void> {
    const keys = offerKeys(prefix);
    const rules = [...this.byRule].filter(([, fields]) => fields.size > 0);
    const writes: Promise<unknown>[] = [
      multiPerSlot(
        redis,
        rules,
        ([ruleId]) => keys.stats(ruleId),
        (tx, [ruleId, fields]) => {
          const hourKey = keys.statsHour(ruleId, hourOf(now));
          let hourly = false;
          for (const [field, n] of fields) {
            tx.hincrby(keys.stats(ruleId), field, n);
            if (isTimelineField(field)) {
              tx.hincrby(hourKey, field, n);
              hourly = true;
            }
          }
          if (hourly) tx.pexpire(hourKey, TIMELINE_TTL_MS);
        },
      ),
    ];
    for (const ruleId of this.byRule.keys()) {
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

/** One open attribution window a spend counts towards, with how much the square of its spend grew. */
export interface SpendWindow {
  ruleId: string;
  group: string;
  squareDelta: number;
}

/** Where an event sits in Kafka: what the decided and attributed markers compare. */
export interface EventPosition {
  readonly partition: number;
  /** The event's position in the partition (eventPosition, protocol/record.ts): its record's offset, plus its place in the record. */
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
 * to the segments' HyperLogLogs: PFADD and PEXPIRE per segment and day, in one MULTI per
 * Redis Cluster slot (lib/redis.ts multiPerSlot), so a chunk of decisions costs a few
 * commands, not one round trip per event.
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
    const days = [...this.byKey];
    this.byKey.clear();
    await multiPerSlot(
      redis,
      days,
      ([key]) => key,
      (tx, [key, ids]) => tx.pfadd(key, ...ids).pexpire(key, SEGMENT_SIZE_TTL_MS),
    );
  }
}

/** Approximate count of the players found in each segment on UTC day `day` (0 when none). */
export async function segmentSizes(redis: RedisClient, prefix: string, names: readonly string[], day: number): Promise<Map<string, number>> {
  const keys = offerKeys(prefix);
  const counts = await Promise.all(names.map((n) => redis.pfcount(keys.segmentDay(n, day))));
  return new Map(names.map((n, i) => [n, counts[i] ?? 0]));
}
