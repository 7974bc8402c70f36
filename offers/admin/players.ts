import { PlayPulseError } from '../../lib/errors.ts';
import { playerKeys } from '../../lib/keys.ts';
import type { RedisClient } from '../../lib/redis.ts';
import type { Bundle } from '../../designer/types.ts';
import type { DecisionRecord } from '../engine/explain.ts';
import { decodeDecisionList } from '../engine/explain-codec.ts';
import { playerView } from '../engine/input.ts';
import type { LedgerRecord } from '../engine/offer.ts';
import { readPlayerLedger } from '../engine/redis-ops.ts';
import type { ReadState } from '../jobs/follow-up.ts';
import { PLAYER_ID_PATTERN } from '../../protocol/limits.ts';
import type { Offer } from '../../protocol/offer.ts';

/** The player id of a path, checked as docs/contract.md §2 defines it; ADMIN_BAD_REQUEST otherwise. */
export function checkPlayerId(id: string): string {
  if (!PLAYER_ID_PATTERN.test(id)) throw new PlayPulseError('ADMIN_BAD_REQUEST', 'a player id is 1-64 characters of [A-Za-z0-9_.:-]', { playerId: id });
  return id;
}

/**
 * `player` as the rules see it now, the segments the rules use with the player's value in
 * each (`segment.<name>`), and the pending (unexpired, unreported) offers.
 */
export async function playerSnapshot(redis: RedisClient, prefix: string, bundle: Bundle, readState: ReadState, playerId: string, now: number) {
  const state = await readState(playerId, bundle, now);
  const player = playerView(state);
  // Segment conditions read `player` only (the designer refuses `event` in them).
  const segments = bundle.segments.active.length > 0 ? bundle.segments.evaluate({ event: { type: '', id: '', ts: now, data: {} }, player }) : {};
  const k = playerKeys(prefix, playerId);
  const ids = await redis.zrangebyscore(k.inbox, `(${now}`, '+inf');
  const raw = ids.length > 0 ? await redis.hmget(k.offers, ...ids) : [];
  const inbox: (Offer & { createdAt?: number })[] = [];
  for (const json of raw) if (json) inbox.push(JSON.parse(json) as Offer & { createdAt?: number });
  return { id: playerId, bundleVersion: bundle.version, at: now, player, segments, inbox };
}

/** What happened to a decision's offer since, from the player's ledger. */
export interface OfferStatus {
  readonly status: 'pending' | 'shown' | 'accepted' | 'declined' | 'purchased' | 'expired' | 'unknown';
  readonly responses: Readonly<Record<string, number>>;
  readonly revenue?: number;
}

const ORDER = ['purchased', 'declined', 'accepted', 'shown', 'expired'] as const;

export function offerStatus(rec: LedgerRecord | null): OfferStatus {
  if (!rec) return { status: 'unknown', responses: {} };
  const status = ORDER.find((k) => rec.responses[k] !== undefined) ?? 'pending';
  return { status, responses: rec.responses, ...(rec.revenue !== undefined ? { revenue: rec.revenue } : {}) };
}

/** Reads a player's decisions from the decision stream (offers/engine/decision-log.ts). */
export type DecisionStreamReader = (playerId: string, opts: { sinceMs: number; beforeMs: number; limit: number }) => Promise<DecisionRecord[]>;

/** How far back the stream is read when a request names no `since`. */
export const DEFAULT_STREAM_LOOKBACK_MS = 7 * 86_400_000;

/**
 * The latest `limit` decisions, newest first; a decision that made an offer carries its
 * status. The newest few come from the player's compact list in Redis; when `limit` asks
 * for more and a stream reader is given, the older ones (at before the oldest in Redis, and
 * at or after `sinceMs`) come from the decision stream. `source` says which answered.
 */
export async function playerDecisions(
  redis: RedisClient,
  prefix: string,
  playerId: string,
  limit: number,
  stream?: { read: DecisionStreamReader; sinceMs: number },
) {
  const k = playerKeys(prefix, playerId);
  // A list of JSON explanations left by an older version reads as none (the next decision replaces it).
  const raw = await redis.getBuffer(k.decisions).catch((err: unknown) => {
    if (err instanceof Error && err.message.startsWith('WRONGTYPE')) return null;
    throw err;
  });
  const list: DecisionRecord[] = decodeDecisionList(raw).slice(0, limit);
  let fromStream = 0;
  if (stream && list.length < limit) {
    // Decisions of one frame share their event's receive time: the stream is read up to and
    // including the oldest Redis one's time, and what Redis already gave is left out.
    const key = (d: DecisionRecord) => `${d.eventId}\u0000${d.followUpOf ?? ''}`;
    const have = new Set(list.map(key));
    const beforeMs = list.length > 0 ? Math.min(...list.map((d) => d.at)) + 1 : Number.MAX_SAFE_INTEGER;
    const older = (await stream.read(playerId, { sinceMs: stream.sinceMs, beforeMs, limit: limit + list.length }))
      .filter((d) => !have.has(key(d)))
      .slice(0, limit - list.length);
    fromStream = older.length;
    list.push(...older);
  }
  const ledger = list.some((d) => d.offerId !== null) ? await readPlayerLedger(redis, prefix, playerId) : new Map<string, LedgerRecord>();
  const decisions = list.map((d) => (d.offerId ? { ...d, offer: offerStatus(ledger.get(d.offerId) ?? null) } : d));
  return { id: playerId, decisions, source: { redis: list.length - fromStream, stream: fromStream } };
}
