/**
 * The Kafka records of player events on topic `player-events`, written by the edge and read
 * by processors, the replay tool, backtests and downstream consumers (`decodeRecords` is the
 * reader: it reads both versions and yields one EventRecord per event, in order).
 *
 * Version 2, what the edge writes: one record per client frame (every event of a frame has
 * the same player, so the same key and partition, and their order is kept).
 *   key     = player id (UTF-8)
 *   value   = MessagePack map (plain, no extensions):
 *             { v: 2, player, recvAt, edge, session, stream?, events: [ { id, type, ts?, data?, seq? }, ... ] }
 *             1..RECORD_EVENTS_MAX events; `seq` only when the record has `stream`.
 *   headers = pp-type: the event type, only when every event of the record has the same
 *             one (so tools can route or filter without decoding the value).
 *             traceparent: W3C trace context, only on the record of a frame the edge
 *             sampled for tracing (lib/tracing.ts); readers that do not trace ignore it.
 *
 * Version 1, one record per event (older edges, and tools that write the topic themselves):
 *   key     = player id
 *   value   = { v: 1, player, id, type, ts?, data?, recvAt, edge, session, stream?, seq? }
 *   headers = pp-type: the event type.
 *
 * `player` always comes from the token the edge verified; `recvAt` is the edge's receive
 * time in ms (processors apply one further ahead of their clock than MAX_FUTURE_RECV_AT_MS at
 * their own time: processors/dlq.ts); `ts` the client's clock, if it sent one. `stream` (the
 * upgrade's `?stream=`) and `seq` (the event's place in it) together let processors count a
 * resent event once (protocol/limits.ts, RESEND_WINDOW); an event has both or neither.
 *
 * An event's position in its partition is the record's offset for the first (or only) event
 * of a record, and offset + index / RECORD_EVENTS_MAX for the index-th one (`eventPosition`):
 * positions keep partition order, a version-1 record's position is its offset, so the
 * watermarks and decided markers written before version 2 keep their meaning.
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

/** The version the edge writes. */
export const RECORD_VERSION = 2;
/**
 * Events one version-2 record holds at most. A power of two above MAX_BATCH_EVENTS, so that
 * a frame always fits one record and `eventPosition` is exact (offsets below 2^43).
 */
export const RECORD_EVENTS_MAX = 1024;

/** One event as readers see it, whatever the version of the record it came in. */
export interface EventRecord {
  /** The version of the record the event came in. */
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

/** One event of a version-2 record: the client's event as the edge validated it. */
export interface RecordEvent {
  id: string;
  type: string;
  ts?: number;
  data?: Record<string, unknown>;
  seq?: number;
}

/** A version-2 record: one client frame. */
export interface FrameRecord {
  v: 2;
  player: string;
  recvAt: number;
  edge: string;
  session: string;
  stream?: string;
  events: readonly RecordEvent[];
}

const OPTIONAL_FIELDS = ['ts', 'data', 'stream', 'seq'] as const;

/** Encodes a version-2 record. The events are written as they are (their `undefined` fields omitted by the caller). */
export function encodeFrameRecord(r: FrameRecord): Buffer {
  return packr.pack(r);
}

/** Headers of a version-2 record: `pp-type` when all its events have one type. */
export function frameRecordHeaders(events: readonly RecordEvent[]): Record<string, string> {
  const type = (events[0] as RecordEvent).type;
  for (let i = 1; i < events.length; i++) if ((events[i] as RecordEvent).type !== type) return {};
  return { 'pp-type': type };
}

/**
 * The position of the index-th event (from 0) of the record at `offset`, as an exact
 * decimal string: the offset itself for the first event, offset + index / RECORD_EVENTS_MAX
 * after it. Numbers compare positions exactly (Number() in JS, tonumber() in Redis' Lua)
 * while offsets stay below 2^43.
 */
export function eventPosition(offset: string, index: number): string {
  if (index === 0) return offset;
  return `${offset}.${String(index / RECORD_EVENTS_MAX).slice(2)}`;
}

/** The Kafka offset of the record an event position (eventPosition) is in. */
export function positionOffset(position: string): string {
  const dot = position.indexOf('.');
  return dot < 0 ? position : position.slice(0, dot);
}

/** Encodes a version-1 record: one event (tools and peers that write the topic themselves). */
export function encodeRecord(r: EventRecord): Buffer {
  return packr.pack(OPTIONAL_FIELDS.some((f) => f in r && r[f] === undefined) ? withoutUndefined(r) : r);
}

function withoutUndefined(r: EventRecord): EventRecord {
  const out = { ...r };
  for (const f of OPTIONAL_FIELDS) if (out[f] === undefined) delete out[f];
  return out;
}

/** Headers of a version-1 record. */
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
 * Decodes a record of either version and checks its shape: the events it holds, in order.
 * Throws PROC_POISON_EVENT on anything that is not a valid record, never another error; a
 * record is refused whole (one bad event refuses its record). The scan's depth bound is the
 * frame's: `data` sits as deep in a version-2 record as in a batch frame, so every record
 * the edge writes is within it.
 */
export function decodeRecords(value: Buffer | null): EventRecord[] {
  if (!value || value.length === 0) throw new PlayPulseError('PROC_POISON_EVENT', 'empty record value');
  const scan = scanMessagePack(value, MAX_DEPTH);
  if (!scan.ok) throw new PlayPulseError('PROC_POISON_EVENT', `record value refused: ${scan.message}`);
  const r = unpack(value);
  if (!isPlainMap(r)) throw new PlayPulseError('PROC_POISON_EVENT', 'record value is not a map');
  const o = r as Record<string, unknown>;
  if (o.v === 1) {
    checkShared(o);
    checkEvent(o, '');
    if ((o.stream === undefined) !== (o.seq === undefined)) throw poison('record fields stream and seq must be both present or both absent');
    return [o as unknown as EventRecord];
  }
  if (o.v !== 2) throw poison(`unsupported record version ${describeVersion(o.v)}`);
  checkShared(o);
  const events = o.events;
  if (!Array.isArray(events) || events.length === 0 || events.length > RECORD_EVENTS_MAX) {
    throw poison(`record field events is not a list of 1..${RECORD_EVENTS_MAX} events`);
  }
  const out: EventRecord[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const e: unknown = events[i];
    if (!isPlainMap(e)) throw poison(`record event ${i} is not a map`);
    checkEvent(e, `event ${i} `);
    if (e.seq !== undefined && o.stream === undefined) throw poison(`record event ${i} has seq but the record has no stream`);
    const event: EventRecord = { v: 2, player: o.player as string, id: e.id as string, type: e.type as string, recvAt: o.recvAt as number, edge: o.edge as string, session: o.session as string };
    if (e.ts !== undefined) event.ts = e.ts as number;
    if (e.data !== undefined) event.data = e.data as Record<string, unknown>;
    if (e.seq !== undefined) {
      event.stream = o.stream as string;
      event.seq = e.seq as number;
    }
    out[i] = event;
  }
  return out;
}

/** Decodes a record that holds exactly one event (a version-1 record, or a version-2 record of a one-event frame). */
export function decodeRecord(value: Buffer | null): EventRecord {
  const events = decodeRecords(value);
  if (events.length !== 1) throw poison(`record holds ${events.length} events, expected one`);
  return events[0] as EventRecord;
}

function poison(message: string): PlayPulseError {
  return new PlayPulseError('PROC_POISON_EVENT', message);
}

/** The fields every version has once per record: player, edge, session, recvAt, and stream (checked here when present). */
function checkShared(o: Record<string, unknown>): void {
  for (const f of ['player', 'edge', 'session'] as const) {
    if (typeof o[f] !== 'string' || (o[f] as string).length === 0) throw poison(`record field ${f} is missing or not a string`);
  }
  if (typeof o.recvAt !== 'number' || !Number.isFinite(o.recvAt)) throw poison('record field recvAt is not a number');
  if (o.stream !== undefined && (typeof o.stream !== 'string' || !STREAM_PATTERN.test(o.stream))) {
    throw poison('record field stream is not 1..64 of [A-Za-z0-9_.:-]');
  }
}

/** An event's own fields: id, type, ts, data, seq (`where` names the event of a version-2 record). */
function checkEvent(e: Record<string, unknown>, where: string): void {
  for (const f of ['id', 'type'] as const) {
    if (typeof e[f] !== 'string' || (e[f] as string).length === 0) throw poison(`record ${where}field ${f} is missing or not a string`);
  }
  if (e.ts !== undefined && (typeof e.ts !== 'number' || !Number.isFinite(e.ts))) throw poison(`record ${where}field ts is not a number`);
  if (e.data !== undefined && !isPlainMap(e.data)) throw poison(`record ${where}field data is not a map`);
  if (e.seq !== undefined && (typeof e.seq !== 'number' || !Number.isSafeInteger(e.seq) || e.seq < 1 || e.seq > MAX_SEQ)) {
    throw poison(`record ${where}field seq is not an integer 1..2^53 - 1`);
  }
}

/** The version as the error names it; never calls into the value (a map's `toString` key could be anything). */
function describeVersion(v: unknown): string {
  return typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null ? String(v) : typeof v === 'string' ? JSON.stringify(v.slice(0, 20)) : typeof v;
}
