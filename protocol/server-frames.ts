/**
 * Edge → client frames (docs/contract.md §3):
 *
 *   hello  { t: "hello", player, session, serverTime, stream? }   first frame after the
 *          upgrade; `stream` echoes the upgrade's `?stream=`, absent when none was given
 *   ack    { t: "ack", ids: [event id, ...] }             durably in Kafka
 *   offer  { t: "offer", offer: { id, ruleId, sku, title?, price: { amount, currency },
 *                                  discountPct?, quantity?, variant?, expiresAt, data? } }
 *   pong   { t: "pong", n }                               answer to ping, same `n`
 *   err    { t: "err", code, message, id? }               a refused frame or event
 *
 * Builders for the edge, and parseServerFrame for clients. Optional fields are omitted,
 * never sent as nil.
 */
import type { Offer } from './offer.ts';
import type { WireErrorCode } from '../lib/errors.ts';

export interface HelloFrame {
  t: 'hello';
  player: string;
  session: string;
  serverTime: number;
  stream?: string;
}
export interface AckFrame {
  t: 'ack';
  ids: string[];
}
export interface OfferFrame {
  t: 'offer';
  offer: Offer;
}
export interface PongFrame {
  t: 'pong';
  n?: unknown;
}
export interface ErrFrame {
  t: 'err';
  code: WireErrorCode;
  message: string;
  id?: string;
}
export type ServerFrame = HelloFrame | AckFrame | OfferFrame | PongFrame | ErrFrame;

export const WIRE_ERROR_CODES: readonly WireErrorCode[] = ['bad_frame', 'bad_event', 'rate_limited', 'unavailable'];

export function helloFrame(player: string, session: string, serverTime: number, stream?: string): HelloFrame {
  return stream === undefined ? { t: 'hello', player, session, serverTime } : { t: 'hello', player, session, serverTime, stream };
}

export function ackFrame(ids: string[]): AckFrame {
  return { t: 'ack', ids };
}

export function offerFrame(offer: Offer): OfferFrame {
  return { t: 'offer', offer };
}

export function pongFrame(n: unknown, hasN: boolean): PongFrame {
  return hasN ? { t: 'pong', n } : { t: 'pong' };
}

export function errFrame(code: WireErrorCode, message: string, id?: string): ErrFrame {
  return id === undefined ? { t: 'err', code, message } : { t: 'err', code, message, id };
}

/**
 * The wire form of an offer from any object holding one (the inbox keeps `createdAt` and
 * may keep more): only the contract's fields, checked; null when the object is not an offer.
 */
export function toWireOffer(o: unknown): Offer | null {
  if (!isObject(o)) return null;
  const { id, ruleId, sku, title, price, discountPct, quantity, variant, expiresAt, data } = o;
  if (typeof id !== 'string' || typeof ruleId !== 'string' || typeof sku !== 'string') return null;
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt)) return null;
  if (!isObject(price) || !Number.isSafeInteger(price.amount) || typeof price.currency !== 'string') return null;
  const offer: Offer = { id, ruleId, sku, price: { amount: price.amount as number, currency: price.currency }, expiresAt };
  if (typeof title === 'string') offer.title = title;
  if (typeof discountPct === 'number' && Number.isFinite(discountPct)) offer.discountPct = discountPct;
  if (typeof quantity === 'number' && Number.isSafeInteger(quantity) && quantity >= 1) offer.quantity = quantity;
  if (typeof variant === 'string') offer.variant = variant;
  if (isObject(data)) offer.data = data;
  return offer;
}

/** Sorts a decoded frame from the edge; null for anything that is not a v1 server frame. */
export function parseServerFrame(f: Record<string, unknown>): ServerFrame | null {
  switch (f.t) {
    case 'hello':
      return typeof f.player === 'string' && typeof f.session === 'string' && typeof f.serverTime === 'number'
        ? helloFrame(f.player, f.session, f.serverTime, typeof f.stream === 'string' ? f.stream : undefined)
        : null;
    case 'ack':
      return Array.isArray(f.ids) && f.ids.every((i) => typeof i === 'string') ? ackFrame(f.ids as string[]) : null;
    case 'offer': {
      const offer = toWireOffer(f.offer);
      return offer ? offerFrame(offer) : null;
    }
    case 'pong':
      return pongFrame(f.n, Object.hasOwn(f, 'n'));
    case 'err':
      if (typeof f.code !== 'string' || typeof f.message !== 'string') return null;
      return errFrame(f.code as WireErrorCode, f.message, typeof f.id === 'string' ? f.id : undefined);
    default:
      return null;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);
}
