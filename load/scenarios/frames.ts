/**
 * The frames of docs/contract.md §3 as plain values, for load clients in any runtime. Encoding is
 * the caller's (a plain MessagePack map per binary frame); this file only builds and reads
 * the maps.
 */
import type { WireEvent } from './events.ts';

export type ClientFrame =
  | ({ t: 'ev' } & WireEvent)
  | { t: 'evs'; events: WireEvent[] }
  | { t: 'ping'; n?: unknown };

export function batchFrame(events: WireEvent[]): ClientFrame {
  return events.length === 1 ? { t: 'ev', ...(events[0] as WireEvent) } : { t: 'evs', events };
}

export function pingFrame(n: number): ClientFrame {
  return { t: 'ping', n };
}

export interface OfferPayload {
  id: string;
  ruleId: string;
  sku: string;
  expiresAt: number;
  [k: string]: unknown;
}

export type ServerFrame =
  | { t: 'hello'; player: string; session: string; serverTime: number; stream?: string }
  | { t: 'ack'; ids: string[] }
  | { t: 'offer'; offer: OfferPayload }
  | { t: 'pong'; n?: unknown }
  | { t: 'err'; code: string; message: string; id?: string }
  | { t: 'unknown'; raw: unknown };

/** Reads a decoded server map; anything off-contract comes back as `unknown` (and is counted by callers). */
export function readServerFrame(value: unknown): ServerFrame {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { t: 'unknown', raw: value };
  const m = value as Record<string, unknown>;
  switch (m.t) {
    case 'hello':
      return typeof m.stream === 'string'
        ? { t: 'hello', player: String(m.player), session: String(m.session), serverTime: Number(m.serverTime), stream: m.stream }
        : { t: 'hello', player: String(m.player), session: String(m.session), serverTime: Number(m.serverTime) };
    case 'ack':
      return Array.isArray(m.ids) ? { t: 'ack', ids: m.ids.map(String) } : { t: 'unknown', raw: value };
    case 'offer': {
      const o = m.offer as Record<string, unknown> | undefined;
      if (!o || typeof o.id !== 'string') return { t: 'unknown', raw: value };
      return { t: 'offer', offer: o as OfferPayload };
    }
    case 'pong':
      return { t: 'pong', n: m.n };
    case 'err': {
      const base = { t: 'err' as const, code: String(m.code), message: String(m.message) };
      return typeof m.id === 'string' ? { ...base, id: m.id } : base;
    }
    default:
      return { t: 'unknown', raw: value };
  }
}
