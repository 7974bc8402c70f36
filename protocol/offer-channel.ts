/**
 * Offer routing across edge instances (docs/delivery.md).
 *
 * Presence: `{p:<id>}:presence`, HASH edge instance id -> expiry (ms), kept fresh by each
 * instance's heartbeat while it holds a socket of the player. Delivery channel: one Redis
 * sharded pub/sub channel per instance, `<prefix>:{edge:<instanceId>}:offers`, carrying
 * JSON `{ player, offer, traceparent? }` (`traceparent`: W3C trace context of the routing
 * span, only for an offer whose triggering event was traced, lib/tracing.ts). Pub/sub may lose a message (a subscriber reconnecting); the
 * offer is still in the player's inbox, and an instance re-reads the inboxes of its
 * players after its subscriber reconnects.
 */
import { offerChannel, playerKeys } from '../lib/keys.ts';
import type { RedisClient } from '../lib/redis.ts';
import type { Offer } from './offer.ts';
import { toWireOffer } from './server-frames.ts';

export interface OfferMessage {
  player: string;
  offer: Offer;
  traceparent?: string;
}

/** A W3C traceparent is 55 characters; anything much longer is not one. */
const MAX_TRACEPARENT_LENGTH = 128;

/**
 * Sends an offer, already in the player's inbox, to every edge instance that holds a
 * socket of the player now. Returns how many instances it was sent to (0: the player is
 * offline; the inbox delivers it on connect). `presence`: the player's presence hash as a
 * flat list `[instance id, expiry, …]`, read after the offer went into the inbox (the
 * decide script returns it); absent, it is read here first, one more round trip.
 */
export async function publishOffer(redis: RedisClient, keyPrefix: string, playerId: string, offer: Offer, traceparent?: string, presence?: readonly string[]): Promise<number> {
  const live = liveInstances(presence ?? Object.entries(await redis.hgetall(playerKeys(keyPrefix, playerId).presence)).flat(), Date.now());
  if (live.length === 0) return 0;
  const message = JSON.stringify((traceparent === undefined ? { player: playerId, offer } : { player: playerId, offer, traceparent }) satisfies OfferMessage);
  await Promise.all(live.map((instanceId) => redis.spublish(offerChannel(keyPrefix, instanceId), message)));
  return live.length;
}

/** The instance ids of a flat presence hash `[instance id, expiry (ms), …]` whose expiry is after `now`. */
export function liveInstances(presence: readonly string[], now: number): string[] {
  const live: string[] = [];
  for (let i = 0; i + 1 < presence.length; i += 2) if (Number(presence[i + 1]) > now) live.push(presence[i] as string);
  return live;
}

/** Parses a channel message; null for anything that is not `{ player, offer }`. A malformed `traceparent` is dropped, not the offer. */
export function parseOfferMessage(text: string): OfferMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object') return null;
  const { player, offer, traceparent } = value as Record<string, unknown>;
  const wire = toWireOffer(offer);
  if (typeof player !== 'string' || !wire) return null;
  return typeof traceparent === 'string' && traceparent.length <= MAX_TRACEPARENT_LENGTH ? { player, offer: wire, traceparent } : { player, offer: wire };
}

/** Orders inbox entries (JSON of Offer plus createdAt) by createdAt, then id; drops unparsable ones. */
export function orderInbox(bodies: readonly string[]): { offers: Offer[]; invalid: number } {
  const rows: { offer: Offer; createdAt: number }[] = [];
  let invalid = 0;
  for (const body of bodies) {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      invalid += 1;
      continue;
    }
    const offer = toWireOffer(value);
    if (!offer) {
      invalid += 1;
      continue;
    }
    const createdAt = Number((value as Record<string, unknown>).createdAt);
    rows.push({ offer, createdAt: Number.isFinite(createdAt) ? createdAt : 0 });
  }
  rows.sort((a, b) => a.createdAt - b.createdAt || (a.offer.id < b.offer.id ? -1 : a.offer.id > b.offer.id ? 1 : 0));
  return { offers: rows.map((r) => r.offer), invalid };
}
