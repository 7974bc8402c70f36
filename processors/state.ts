import { Unpackr } from 'msgpackr';
import type { Bundle } from '../designer/types.ts';
import type { PlayerState } from './decider-seam.ts';
import { playerKeys } from '../lib/keys.ts';
import type { RedisClient } from '../lib/redis.ts';
import { decodeValue } from './extract.ts';
import { planFor, type ApplyPlan, type PropertyPlan } from './plan.ts';
import { windowTotal } from './window.ts';

/**
 * A player's state as stored by the apply script (lua/applyEvents-4.lua) and as read back.
 *
 * `state` hash fields:
 *   first_seen, last_seen       event time (ms) of the first and latest applied event
 *   events_total                applied events, all types
 *   last_purchase_at            event time of the latest `offer.purchased`
 *   offers_today, offers_day    written by the offers engine: offers made on UTC day
 *                               `offers_day` (floor(ms / 86400000)); 0 on any other day
 *   seen_n                      ids in the `seen` ZSET (events sent without a seq)
 * `markers` hash (key suffix `wm`): <partition> -> last applied offset; s:<stream> -> the
 * client stream's highest seq applied and the holes below it (lua/applyEvents-4.lua).
 *   p:<name>:<kind>             a plain property (see plan.ts)
 * `windows` string: MessagePack {w:<name>:<kind>:<bucketMs>x<buckets>: bucket list}.
 */
export const STATE_FIELDS = {
  firstSeen: 'first_seen',
  lastSeen: 'last_seen',
  eventsTotal: 'events_total',
  lastPurchaseAt: 'last_purchase_at',
  offersToday: 'offers_today',
  offersDay: 'offers_day',
} as const;

export const DAY_MS = 86_400_000;

/** Entries per event in the script's reply: status, 5 built-ins, then one per property. */
export const ROW_HEAD = 6;

export const STATUS_APPLIED = 0;
export const STATUS_DUPLICATE_OFFSET = 1;
export const STATUS_DUPLICATE_ID = 2;
export const STATUS_DUPLICATE_SEQ = 3;

type Scalar = number | string | boolean | null;

function numberOr(v: unknown, fallback: number): number {
  if (v === null || v === undefined || v === false) return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

function propValue(p: PropertyPlan, stored: unknown): Scalar {
  if (stored === null || stored === undefined || stored === false) return p.initial;
  if (typeof stored === 'number' && p.code !== 'l') return stored;
  const s = typeof stored === 'string' ? stored : String(stored);
  if (p.fieldType === null || p.window) return Number(s);
  return decodeValue(s, p.fieldType);
}

/** The PlayerState of one event's row of the (decoded) script reply, starting at `at`. */
export function stateFromRow(id: string, plan: ApplyPlan, reply: readonly unknown[], at: number): PlayerState {
  const props: Record<string, Scalar> = {};
  const base = at + ROW_HEAD;
  for (const p of plan.properties) props[p.spec.name] = propValue(p, reply[base + p.index - 1]);
  return {
    id,
    first_seen: numberOr(reply[at + 1], 0),
    last_seen: numberOr(reply[at + 2], 0),
    events_total: numberOr(reply[at + 3], 0),
    offers_today: numberOr(reply[at + 4], 0),
    last_purchase_at: reply[at + 5] === null || reply[at + 5] === undefined || reply[at + 5] === false ? null : numberOr(reply[at + 5], 0),
    props,
  };
}

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

function bucketList(v: unknown): number[] {
  return Array.isArray(v) && v.length % 2 === 0 && v.every((x) => typeof x === 'number') ? (v as number[]) : [];
}

/** The bucket lists of a `windows` string, by storage field (a hash left by an older version reads as empty until the next write). */
function windowLists(raw: Buffer | null): Record<string, unknown> {
  if (!raw || raw.length === 0) return {};
  try {
    const v = unpackr.unpack(raw) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * The player's built-ins and every property of `bundle`, windowed ones totalled at `now`
 * (ms). A player with no state reads as zeros and nulls. Used by the admin API and the
 * offers engine; processors get the same values from the apply script.
 */
export async function readPlayerState(
  redis: RedisClient,
  keyPrefix: string,
  playerId: string,
  bundle: Bundle,
  now: number,
): Promise<PlayerState> {
  const plan = planFor(bundle);
  const keys = playerKeys(keyPrefix, playerId);
  const plain = plan.properties.filter((p) => !p.window);
  const windowed = plan.properties.filter((p) => p.window);
  const fields = [
    STATE_FIELDS.firstSeen,
    STATE_FIELDS.lastSeen,
    STATE_FIELDS.eventsTotal,
    STATE_FIELDS.lastPurchaseAt,
    STATE_FIELDS.offersToday,
    STATE_FIELDS.offersDay,
    ...plain.map((p) => p.storageField),
  ];
  const [values, lists] = await Promise.all([
    redis.hmget(keys.state, ...fields),
    windowed.length > 0 ? redis.getBuffer(keys.windows).catch(() => null) : Promise.resolve(null),
  ]);
  const props: Record<string, Scalar> = {};
  plain.forEach((p, i) => {
    props[p.spec.name] = propValue(p, values[6 + i]);
  });
  const byField = windowLists(lists);
  windowed.forEach((p) => {
    props[p.spec.name] = windowTotal(bucketList(byField[p.storageField]), p.window as NonNullable<PropertyPlan['window']>, now);
  });
  const ordered: Record<string, Scalar> = {};
  for (const p of plan.properties) ordered[p.spec.name] = props[p.spec.name] ?? null;
  const offersDay = numberOr(values[5], -1);
  return {
    id: playerId,
    first_seen: numberOr(values[0], 0),
    last_seen: numberOr(values[1], 0),
    events_total: numberOr(values[2], 0),
    offers_today: offersDay === Math.floor(now / DAY_MS) ? numberOr(values[4], 0) : 0,
    last_purchase_at: values[3] === null || values[3] === undefined ? null : numberOr(values[3], 0),
    props: ordered,
  };
}
