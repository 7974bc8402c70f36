import { PlayPulseError } from '../../lib/errors.ts';
import { playerKeys } from '../../lib/keys.ts';
import type { RedisClient } from '../../lib/redis.ts';
import type { Bundle } from '../../offers/designer/types.ts';
import type { DecisionRecord } from '../engine/explain.ts';
import { playerView } from '../engine/input.ts';
import type { LedgerRecord } from '../engine/offer.ts';
import type { ReadState } from '../jobs/follow-up.ts';
import type { Offer } from '../../protocol/offer.ts';

const PLAYER_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The player id of a path, checked as CONTRACT.md §2 defines it; ADMIN_BAD_REQUEST otherwise. */
export function checkPlayerId(id: string): string {
  if (!PLAYER_ID.test(id)) throw new PlayPulseError('ADMIN_BAD_REQUEST', 'a player id is 1-64 characters of [A-Za-z0-9_.:-]', { playerId: id });
  return id;
}

/** `player` as the rules see it now, and the pending (unexpired, unreported) offers. */
export async function playerSnapshot(redis: RedisClient, prefix: string, bundle: Bundle, readState: ReadState, playerId: string, now: number) {
  const state = await readState(playerId, bundle, now);
  const k = playerKeys(prefix, playerId);
  const ids = await redis.zrangebyscore(k.inbox, `(${now}`, '+inf');
  const raw = ids.length > 0 ? await redis.hmget(k.offers, ...ids) : [];
  const inbox: (Offer & { createdAt?: number })[] = [];
  for (const json of raw) if (json) inbox.push(JSON.parse(json) as Offer & { createdAt?: number });
  return { id: playerId, bundleVersion: bundle.version, at: now, player: playerView(state), inbox };
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

/** The latest `limit` decisions, newest first; a decision that made an offer carries its status. */
export async function playerDecisions(redis: RedisClient, prefix: string, playerId: string, limit: number) {
  const k = playerKeys(prefix, playerId);
  const list = (await redis.lrange(k.decisions, 0, limit - 1)).map((s) => JSON.parse(s) as DecisionRecord);
  const ids = [...new Set(list.map((d) => d.offerId).filter((id): id is string => id !== null))];
  const ledger = new Map<string, LedgerRecord | null>();
  if (ids.length > 0) {
    const raw = await redis.hmget(k.ledger, ...ids);
    ids.forEach((id, i) => ledger.set(id, raw[i] ? (JSON.parse(raw[i] as string) as LedgerRecord) : null));
  }
  const decisions = list.map((d) => (d.offerId ? { ...d, offer: offerStatus(ledger.get(d.offerId) ?? null) } : d));
  return { id: playerId, decisions };
}
