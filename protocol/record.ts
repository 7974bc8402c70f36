/**
 * The Kafka record of one player event on topic `player-events`, written by the edge and
 * read by processors, the replay tool and backtests.
 *
 *   key     = player id (UTF-8), so one player's events share a partition and keep order
 *   value   = MessagePack map (plain, no extensions):
 *             { v: 1, player, id, type, ts?, data?, recvAt, edge, session, stream?, seq? }
 *   headers = pp-type: event type (so tools can route or filter without decoding the
 *             value). Only one: kafkajs encodes every header separately, and the event id
 *             and record version are in the value already.
 *
 * `player` always comes from the token the edge verified; `recvAt` is the edge's
 * receive time in ms; `ts` the client's clock, if it sent one. `stream` (the upgrade's
 * `?stream=`) and `seq` (the event's place in it) are both present or both absent: with
 * them, processors count a resent event once (protocol/limits.ts, RESEND_WINDOW). They
 * are optional fields of version 1; readers that do not know them ignore them.
 */
import { Packr, Unpackr } from 'msgpackr';
import { MAX_SEQ, STREAM_PATTERN } from './limits.ts';
import { PlayPulseError } from '../lib/errors.ts';

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
  if (!value || value.length === 0) throw new PlayPulseError('PROC_POISON_EVENT', 'empty record value');
  const r = unpackr.unpack(value) as unknown;
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw new PlayPulseError('PROC_POISON_EVENT', 'record value is not a map');
  const o = r as Record<string, unknown>;
  if (o.v !== RECORD_VERSION) throw new PlayPulseError('PROC_POISON_EVENT', `unsupported record version ${String(o.v)}`);
  for (const f of ['player', 'id', 'type', 'edge', 'session'] as const) {
    if (typeof o[f] !== 'string' || (o[f] as string).length === 0) throw new PlayPulseError('PROC_POISON_EVENT', `record field ${f} is missing or not a string`);
  }
  if (typeof o.recvAt !== 'number' || !Number.isFinite(o.recvAt)) throw new PlayPulseError('PROC_POISON_EVENT', 'record field recvAt is not a number');
  if (o.ts !== undefined && (typeof o.ts !== 'number' || !Number.isFinite(o.ts))) throw new PlayPulseError('PROC_POISON_EVENT', 'record field ts is not a number');
  if (o.data !== undefined && (o.data === null || typeof o.data !== 'object' || Array.isArray(o.data))) {
    throw new PlayPulseError('PROC_POISON_EVENT', 'record field data is not a map');
  }
  if ((o.stream === undefined) !== (o.seq === undefined)) throw new PlayPulseError('PROC_POISON_EVENT', 'record fields stream and seq must be both present or both absent');
  if (o.stream !== undefined && (typeof o.stream !== 'string' || !STREAM_PATTERN.test(o.stream))) {
    throw new PlayPulseError('PROC_POISON_EVENT', 'record field stream is not 1..64 of [A-Za-z0-9_.:-]');
  }
  if (o.seq !== undefined && (typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || o.seq < 1 || o.seq > MAX_SEQ)) {
    throw new PlayPulseError('PROC_POISON_EVENT', 'record field seq is not an integer 1..2^53 - 1');
  }
  return o as unknown as EventRecord;
}
