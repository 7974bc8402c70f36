/**
 * The Kafka record of one player event on topic `player-events`, written by the edge and
 * read by processors, the replay tool and backtests.
 *
 *   key     = player id (UTF-8), so one player's events share a partition and keep order
 *   value   = MessagePack map (plain, no extensions):
 *             { v: 1, player, id, type, ts?, data?, recvAt, edge, session }
 *   headers = pp-type: event type (so tools can route or filter without decoding the
 *             value). Only one: kafkajs encodes every header separately, and the event id
 *             and record version are in the value already.
 *
 * `player` always comes from the token the edge verified; `recvAt` is the edge's
 * receive time in ms; `ts` the client's clock, if it sent one.
 */
import { Packr, Unpackr } from 'msgpackr';

export const RECORD_VERSION = 1;

export interface EventRecord {
  v: number;
  player: string;
  id: string;
  type: string;
  ts?: number;
  data?: Record<string, unknown>;
  recvAt: number;
  edge: string;
  session: string;
  /** The client's stream (one SDK instance) and the event's sequence number on it; both or neither. */
  stream?: string;
  seq?: number;
}

/** Plain MessagePack: no records/structures, maps decode as plain objects. */
const packr = new Packr({ useRecords: false, variableMapSize: true, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export function encodeRecord(r: EventRecord): Buffer {
  return packr.pack(r);
}

export function recordHeaders(r: EventRecord): Record<string, string> {
  return { 'pp-type': r.type };
}

/** Decodes and checks the shape; throws on anything that is not a version-1 event record. */
export function decodeRecord(value: Buffer | null): EventRecord {
  if (!value || value.length === 0) throw new Error('empty record value');
  const r = unpackr.unpack(value) as unknown;
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw new Error('record value is not a map');
  const o = r as Record<string, unknown>;
  if (o.v !== RECORD_VERSION) throw new Error(`unsupported record version ${String(o.v)}`);
  for (const f of ['player', 'id', 'type', 'edge', 'session'] as const) {
    if (typeof o[f] !== 'string' || (o[f] as string).length === 0) throw new Error(`record field ${f} is missing or not a string`);
  }
  if (typeof o.recvAt !== 'number' || !Number.isFinite(o.recvAt)) throw new Error('record field recvAt is not a number');
  if (o.ts !== undefined && (typeof o.ts !== 'number' || !Number.isFinite(o.ts))) throw new Error('record field ts is not a number');
  if (o.data !== undefined && (o.data === null || typeof o.data !== 'object' || Array.isArray(o.data))) {
    throw new Error('record field data is not a map');
  }
  return o as unknown as EventRecord;
}
