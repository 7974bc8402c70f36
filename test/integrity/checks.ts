/**
 * The shared invariant checks of the integrity suite (docs/contract.md §6, docs/operations.md §7). Each check is
 * a pure function over values the tests collected (acks a client received, records read back
 * from Kafka, state and offers read back from Redis) and throws an `InvariantViolation`
 * naming the invariant, how many items broke it and the first few of them. A check that
 * passes returns a small summary the test may log.
 */
import type { EventRecord } from '../../protocol/record.ts';

const SAMPLE_LIMIT = 10;

/** Thrown by every check; `samples` holds the first offending items, `count` all of them. */
export class InvariantViolation extends Error {
  readonly invariant: string;
  readonly count: number;
  readonly samples: readonly unknown[];

  constructor(invariant: string, summary: string, offending: readonly unknown[]) {
    const samples = offending.slice(0, SAMPLE_LIMIT);
    super(`${invariant}: ${summary} (${offending.length} offending; first: ${JSON.stringify(samples)})`);
    this.name = 'InvariantViolation';
    this.invariant = invariant;
    this.count = offending.length;
    this.samples = samples;
  }
}

/** An event id the edge acknowledged to the client holding a token for `player`. */
export interface AckedEvent {
  readonly player: string;
  readonly id: string;
  /** When given, the stored record must carry this type as well. */
  readonly type?: string;
}

/** One record of a topic as read back; `record` is null when the value did not decode. */
/** One event of a topic: a version-1 record, or one event of a version-2 record (protocol/record.ts). */
export interface TopicRecord {
  readonly partition: number;
  readonly offset: string;
  /** The event's place in its record (0 for a version-1 record). */
  readonly index?: number;
  readonly key: string | null;
  readonly record: EventRecord | null;
  readonly decodeError: string | null;
  /** Record headers as UTF-8 text, when the reader kept them. */
  readonly headers?: Readonly<Record<string, string>>;
}

const pairKey = (player: string, id: string): string => `${player}\u0000${id}`;

/**
 * Invariant 1 (and 6): every acked event is in the topic, stored under the player of the
 * token that sent it, keyed by that player. Duplicate records of one event are allowed
 * (a client resends after a lost ack); missing ones are not.
 */
export function assertNoLostAcks(
  ackedIds: Iterable<AckedEvent>,
  topicRecords: readonly TopicRecord[],
): { acked: number; found: number; recordsInTopic: number } {
  const stored = new Map<string, TopicRecord>();
  const wrongKey: unknown[] = [];
  for (const r of topicRecords) {
    if (!r.record) continue;
    if (r.key !== r.record.player) wrongKey.push({ partition: r.partition, offset: r.offset, key: r.key, player: r.record.player });
    stored.set(pairKey(r.record.player, r.record.id), r);
  }
  if (wrongKey.length > 0) {
    throw new InvariantViolation('no-lost-acks', 'records whose Kafka key is not their player (ordering per player is broken)', wrongKey);
  }
  const missing: unknown[] = [];
  const wrongType: unknown[] = [];
  let acked = 0;
  const seenAcks = new Set<string>();
  for (const a of ackedIds) {
    const k = pairKey(a.player, a.id);
    if (seenAcks.has(k)) continue;
    seenAcks.add(k);
    acked += 1;
    const r = stored.get(k);
    if (!r || !r.record) {
      missing.push({ player: a.player, id: a.id });
      continue;
    }
    if (a.type !== undefined && r.record.type !== a.type) wrongType.push({ player: a.player, id: a.id, sent: a.type, stored: r.record.type });
  }
  if (missing.length > 0) {
    throw new InvariantViolation('no-lost-acks', `${missing.length} of ${acked} acked events are not in the topic under their player`, missing);
  }
  if (wrongType.length > 0) {
    throw new InvariantViolation('no-lost-acks', 'acked events stored with another type than sent', wrongType);
  }
  return { acked, found: acked, recordsInTopic: topicRecords.length };
}

export type StateValue = number | string | boolean | null;
/** player id -> field -> value. Only the fields the expectation names are compared. */
export type PlayerStates = ReadonlyMap<string, Readonly<Record<string, StateValue>>>;

/**
 * Invariant 2: each player's counters are exactly what applying every distinct event once
 * gives. `expectedState` names the players and fields that matter (built-ins such as
 * `events_total`, designer properties); a field missing in `actualState` counts as a
 * mismatch. A player present in `actualState` but not expected means state was written
 * under a player no client was authenticated as.
 */
export function assertAppliedOnce(expectedState: PlayerStates, actualState: PlayerStates): { players: number; fields: number } {
  const mismatches: unknown[] = [];
  let fields = 0;
  for (const [player, expected] of expectedState) {
    const actual = actualState.get(player);
    for (const [field, want] of Object.entries(expected)) {
      fields += 1;
      const got = actual?.[field];
      if (!sameValue(want, got)) mismatches.push({ player, field, expected: want, actual: got ?? 'missing' });
    }
  }
  const strangers = [...actualState.keys()].filter((p) => !expectedState.has(p));
  if (strangers.length > 0) {
    throw new InvariantViolation('applied-once', 'state exists for players no event was sent as', strangers);
  }
  if (mismatches.length > 0) {
    throw new InvariantViolation('applied-once', `${mismatches.length} of ${fields} player fields differ from applying each event exactly once`, mismatches);
  }
  return { players: expectedState.size, fields };
}

function sameValue(want: StateValue, got: StateValue | undefined): boolean {
  if (got === undefined) return false;
  if (typeof want === 'number') return Number(got) === want;
  if (typeof want === 'boolean') return got === want || String(got) === String(want);
  return want === got;
}

/** An offer as found in a player's offer records (or the decision ledger). */
export interface OfferSeen {
  readonly player: string;
  readonly offerId: string;
  readonly ruleId: string;
  /** The event that made the offer, where the ledger tells it. */
  readonly triggerEventId?: string | null;
  /** Creation time (ms), for budget windows. */
  readonly createdAt?: number | null;
}

/**
 * Invariant 3: at most one offer per triggering event (per player), and each offer id
 * recorded once. Offer ids are deterministic, so a replay that recorded an offer again
 * shows up as the same id twice or as a second id for the same trigger.
 */
export function assertAtMostOneOfferPerTrigger(offers: readonly OfferSeen[]): { offers: number; triggers: number } {
  const byId = new Map<string, number>();
  const byTrigger = new Map<string, Set<string>>();
  for (const o of offers) {
    const idKey = pairKey(o.player, o.offerId);
    byId.set(idKey, (byId.get(idKey) ?? 0) + 1);
    if (o.triggerEventId) {
      const tk = pairKey(o.player, o.triggerEventId);
      const set = byTrigger.get(tk) ?? new Set<string>();
      set.add(o.offerId);
      byTrigger.set(tk, set);
    }
  }
  const twice = [...byId].filter(([, n]) => n > 1).map(([k, n]) => ({ offer: k.replace('\u0000', '/'), times: n }));
  if (twice.length > 0) throw new InvariantViolation('one-offer-per-trigger', 'offer ids recorded more than once', twice);
  const many = [...byTrigger]
    .filter(([, ids]) => ids.size > 1)
    .map(([k, ids]) => ({ trigger: k.replace('\u0000', '/'), offers: [...ids] }));
  if (many.length > 0) throw new InvariantViolation('one-offer-per-trigger', 'triggering events with more than one offer', many);
  return { offers: offers.length, triggers: byTrigger.size };
}

/** An offer as a client received it over its socket(s). */
export interface Delivery {
  readonly player: string;
  readonly offerId: string;
  /** Which socket or device got it; one delivery per socket is the contract. */
  readonly connection: string;
}

/** Invariant 5: each offer reaches each socket of its player at most once and only its player. */
export function assertDeliveredOnce(deliveries: readonly Delivery[], owners?: ReadonlyMap<string, string>): { deliveries: number } {
  const seen = new Map<string, number>();
  const strangers: unknown[] = [];
  for (const d of deliveries) {
    const k = `${d.connection}\u0000${d.offerId}`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
    const owner = owners?.get(d.offerId);
    if (owner !== undefined && owner !== d.player) strangers.push({ offerId: d.offerId, owner, deliveredTo: d.player });
  }
  if (strangers.length > 0) throw new InvariantViolation('delivered-once', 'offers delivered to another player than their own', strangers);
  const twice = [...seen].filter(([, n]) => n > 1).map(([k, n]) => ({ delivery: k.replace('\u0000', '/'), times: n }));
  if (twice.length > 0) throw new InvariantViolation('delivered-once', 'offers delivered more than once to one connection', twice);
  return { deliveries: deliveries.length };
}

export interface Budget {
  readonly ruleId: string;
  readonly count: number;
  readonly per: 'day' | 'hour';
}

const WINDOW_MS = { day: 86_400_000, hour: 3_600_000 } as const;

/**
 * Invariant 4: a rule's offers never exceed its budget in any budget window (UTC day or
 * hour of `createdAt`; offers without a time fall in one window together).
 */
export function assertBudgetNotExceeded(offers: readonly OfferSeen[], budget: Budget): { offered: number; windows: number } {
  const perWindow = new Map<number, Set<string>>();
  for (const o of offers) {
    if (o.ruleId !== budget.ruleId) continue;
    const bucket = o.createdAt == null ? -1 : Math.floor(o.createdAt / WINDOW_MS[budget.per]);
    const ids = perWindow.get(bucket) ?? new Set<string>();
    ids.add(pairKey(o.player, o.offerId));
    perWindow.set(bucket, ids);
  }
  const over = [...perWindow]
    .filter(([, ids]) => ids.size > budget.count)
    .map(([bucket, ids]) => ({ window: bucket < 0 ? 'unknown' : new Date(bucket * WINDOW_MS[budget.per]).toISOString(), offered: ids.size, budget: budget.count }));
  if (over.length > 0) throw new InvariantViolation('budget-not-exceeded', `rule ${budget.ruleId} offered over its budget`, over);
  let offered = 0;
  for (const ids of perWindow.values()) offered += ids.size;
  return { offered, windows: perWindow.size };
}

/**
 * Invariant 2 for a consumer that stopped cleanly: for every partition, the committed
 * position equals one past the last offset whose effect is in Redis (nothing applied
 * beyond the commit, nothing committed beyond what was applied).
 */
export function assertCommittedEqualsApplied(
  committed: ReadonlyMap<number, bigint>,
  appliedUpTo: ReadonlyMap<number, bigint>,
): { partitions: number } {
  const diffs: unknown[] = [];
  const partitions = new Set([...committed.keys(), ...appliedUpTo.keys()]);
  for (const p of partitions) {
    const c = committed.get(p) ?? 0n;
    const a = appliedUpTo.get(p) ?? 0n;
    if (c !== a) diffs.push({ partition: p, committed: String(c), applied: String(a) });
  }
  if (diffs.length > 0) throw new InvariantViolation('committed-equals-applied', 'committed positions differ from what was applied', diffs);
  return { partitions: partitions.size };
}
