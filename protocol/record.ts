/**
 * The Kafka record of one player event on topic `player-events`, written by the edge and
 * read by processors, the replay tool and backtests.
 *
 *   key     = player id (UTF-8), so one player's events share a partition and keep order
 *   value   = MessagePack map (plain, no extensions):
 *             { v: 1, player, id, type, ts?, data?, recvAt, edge, session, stream?, seq? }
 *   headers = pp-type: event type (so tools can route or filter without decoding the
 *             value). Only one on most records: kafkajs encodes every header separately,
 *             and the event id and record version are in the value already.
 *             traceparent: W3C trace context, only on the records of a frame the edge
 *             sampled for tracing (lib/tracing.ts); readers that do not trace ignore it.
 *
 * `player` always comes from the token the edge verified; `recvAt` is the edge's
 * receive time in ms (processors apply one further ahead of their clock than
 * MAX_FUTURE_RECV_AT_MS at their own time: processors/dlq.ts); `ts` the client's clock, if
 * it sent one. `stream` (the upgrade's
 * `?stream=`) and `seq` (the event's place in it) are both present or both absent: with
 * them, processors count a resent event once (protocol/limits.ts, RESEND_WINDOW). They
 * are optional fields of version 1; readers that do not know them ignore them.
 *
 * A record value is untrusted input like a client frame (anyone who may produce to the
 * topic can write one): decoding first runs the frame scan over the raw bytes (scan.ts: one
 * value, no extension types, string keys only, no `__proto__`/`constructor`/`prototype`
 * key at any depth, bounded nesting, valid UTF-8), and a record that fails it is refused
 * like any malformed one, so processors dead-letter it instead of applying it.
 */
import { Packr, Unpackr } from 'msgpackr';
import { MAX_DEPTH, MAX_SEQ, STREAM_PATTERN } from './limits.ts';
import { scanMessagePack } from './scan.ts';
import { isPlainMap } from './codec.ts';
import { errorMessage, PlayPulseError } from '../lib/errors.ts';

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

/**
 * Plain MessagePack: no records/structures, maps decode as plain objects. `undefined` is
 * never written as msgpackr's extension (which the decode scan refuses): an optional field
 * left undefined is omitted, one nested in `data` is written as nil.
 */
const packr = new Packr({ useRecords: false, variableMapSize: true, moreTypes: false, encodeUndefinedAsNil: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

const OPTIONAL_FIELDS = ['ts', 'data', 'stream', 'seq'] as const;

export function encodeRecord(r: EventRecord): Buffer {
  return packr.pack(OPTIONAL_FIELDS.some((f) => f in r && r[f] === undefined) ? withoutUndefined(r) : r);
}

function withoutUndefined(r: EventRecord): EventRecord {
  const out = { ...r };
  for (const f of OPTIONAL_FIELDS) if (out[f] === undefined) delete out[f];
  return out;
}

export function recordHeaders(r: EventRecord): Record<string, string> {
  return { 'pp-type': r.type };
}

function unpack(value: Buffer): unknown {
  try {
    return unpackr.unpack(value) as unknown;
  } catch (err) {
    throw new PlayPulseError('PROC_POISON_EVENT', `record value is not decodable MessagePack (${errorMessage(err)})`);
  }
}

/**
 * Decodes and checks the shape; throws PROC_POISON_EVENT on anything that is not a version-1
 * event record, never another error. The scan's depth bound is the frame's: `data` sits two
 * levels shallower in a record than in a batch frame, so every record the edge writes is
 * within it.
 */
export function decodeRecord(value: Buffer | null): EventRecord {
  if (!value || value.length === 0) throw new PlayPulseError('PROC_POISON_EVENT', 'empty record value');
  const scan = scanMessagePack(value, MAX_DEPTH);
  if (!scan.ok) throw new PlayPulseError('PROC_POISON_EVENT', `record value refused: ${scan.message}`);
  const r = unpack(value);
  if (!isPlainMap(r)) throw new PlayPulseError('PROC_POISON_EVENT', 'record value is not a map');
  const o = r as Record<string, unknown>;
  if (o.v !== RECORD_VERSION) throw new PlayPulseError('PROC_POISON_EVENT', `unsupported record version ${describeVersion(o.v)}`);
  for (const f of ['player', 'id', 'type', 'edge', 'session'] as const) {
    if (typeof o[f] !== 'string' || (o[f] as string).length === 0) throw new PlayPulseError('PROC_POISON_EVENT', `record field ${f} is missing or not a string`);
  }
  if (typeof o.recvAt !== 'number' || !Number.isFinite(o.recvAt)) throw new PlayPulseError('PROC_POISON_EVENT', 'record field recvAt is not a number');
  if (o.ts !== undefined && (typeof o.ts !== 'number' || !Number.isFinite(o.ts))) throw new PlayPulseError('PROC_POISON_EVENT', 'record field ts is not a number');
  if (o.data !== undefined && !isPlainMap(o.data)) {
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

/** The version as the error names it; never calls into the value (a map's `toString` key could be anything). */
function describeVersion(v: unknown): string {
  return typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null ? String(v) : typeof v === 'string' ? JSON.stringify(v.slice(0, 20)) : typeof v;
}
