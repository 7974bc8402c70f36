/**
 * Validation of one client event against the protocol and the designer's taxonomy
 * (`events.yaml`, compiled to a map of EventSpec; the built-in `offer.*` events are in it).
 *
 *   id    string, 1..64 characters
 *   type  1..64 of [a-z0-9_.], declared in the taxonomy
 *   ts    optional safe integer >= 0 (client clock, ms); nil counts as absent
 *   data  optional map; nil counts as absent; at most 16 KiB re-encoded; each declared field
 *         of the right type (int: safe integer; double: any number; string; bool; map; list),
 *         in its enum when it has one, present when required. Undeclared fields are kept as
 *         sent. No number anywhere in it may be NaN, ±Infinity or an integer beyond ±(2^53 - 1).
 *   seq   optional integer 1..2^53 - 1; nil counts as absent. Only on a socket that named a
 *         stream at the upgrade (`?stream=`): without one, an event with `seq` is refused.
 *
 * Any other field of the event map (`t`, `player`, ...) is ignored: the player always comes
 * from the token. Pure: takes values, returns values.
 */
import type { EventSpec, FieldSpec } from '../designer/types.ts';
import type { WireEvent } from './client-frames.ts';
import { encodeFrame, isPlainMap } from './codec.ts';
import { EVENT_TYPE_PATTERN, MAX_DATA_BYTES, MAX_EVENT_ID_CHARS, MAX_SEQ } from './limits.ts';

export type EventCheck = { ok: true; event: WireEvent } | { ok: false; id?: string; message: string };

export interface EventContext {
  /** The socket named a stream at the upgrade, so its events may carry `seq`. */
  hasStream: boolean;
  /**
   * Bytes of the frame the event came in. At most DATA_SIZE_EVIDENT_FRAME_BYTES, no `data`
   * in it can re-encode to more than MAX_DATA_BYTES, and the re-encode that measures it is
   * skipped; omitted, it is always measured.
   */
  frameBytes?: number;
}

/**
 * A frame at most this big holds no `data` over MAX_DATA_BYTES re-encoded: the re-encode is
 * never more than twice the client's bytes (the largest growth is a float32 the client sent,
 * 5 bytes, written as a float64, 9 bytes; test/fuzz/frames.test.ts checks the bound).
 */
export const DATA_SIZE_EVIDENT_FRAME_BYTES = MAX_DATA_BYTES / 2;

const NO_STREAM: EventContext = { hasStream: false };

export function validateEvent(raw: unknown, taxonomy: ReadonlyMap<string, EventSpec>, ctx: EventContext = NO_STREAM): EventCheck {
  if (!isPlainMap(raw)) return { ok: false, message: 'an event must be a map' };
  const { id, type, ts, data, seq } = raw;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_EVENT_ID_CHARS) {
    return { ok: false, message: `\`id\` must be a string of 1..${MAX_EVENT_ID_CHARS} characters` };
  }
  const fail = (message: string): EventCheck => ({ ok: false, id, message });
  if (typeof type !== 'string' || !EVENT_TYPE_PATTERN.test(type)) return fail('`type` must be 1..64 of [a-z0-9_.]');
  const spec = taxonomy.get(type);
  if (!spec) return fail(`unknown event type \`${type}\` (not declared in events.yaml)`);
  const event: WireEvent = { id, type };
  if (ts !== undefined && ts !== null) {
    if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) return fail('`ts` must be an integer >= 0 (ms since the epoch)');
    event.ts = ts;
  }
  if (seq !== undefined && seq !== null) {
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || seq > MAX_SEQ) return fail('`seq` must be an integer 1..2^53 - 1');
    if (!ctx.hasStream) return fail('`seq` needs a stream: connect with `?stream=<id>` to send seq');
    event.seq = seq;
  }
  if (data !== undefined && data !== null) {
    if (!isPlainMap(data)) return fail('`data` must be a map');
    const unsafe = findUnsafeNumber(data, 'data');
    if (unsafe) return fail(unsafe);
    if (ctx.frameBytes === undefined || ctx.frameBytes > DATA_SIZE_EVIDENT_FRAME_BYTES) {
      const size = encodeFrame(data).length;
      if (size > MAX_DATA_BYTES) return fail(`\`data\` is ${size} bytes encoded; at most ${MAX_DATA_BYTES}`);
    }
    event.data = data;
  }
  const problem = checkFields(spec, event.data ?? {});
  return problem ? fail(problem) : { ok: true, event };
}

function checkFields(spec: EventSpec, data: Record<string, unknown>): string | null {
  for (const field of spec.fields.values()) {
    const value = Object.hasOwn(data, field.name) ? data[field.name] : undefined;
    if (value === undefined || value === null) {
      if (field.required) return `data.${field.name} is required for \`${spec.type}\``;
      continue;
    }
    const problem = checkField(field, value);
    if (problem) return `data.${field.name}: ${problem}`;
  }
  return null;
}

function checkField(field: FieldSpec, value: unknown): string | null {
  if (field.enum) {
    return typeof value === 'string' && field.enum.includes(value) ? null : `expected one of ${field.enum.join(', ')}`;
  }
  switch (field.type) {
    case 'string':
      return typeof value === 'string' ? null : 'expected a string';
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value) ? null : 'expected an integer';
    case 'double':
      return typeof value === 'number' ? null : 'expected a number';
    case 'bool':
      return typeof value === 'boolean' ? null : 'expected true or false';
    case 'map':
      return isPlainMap(value) ? null : 'expected a map';
    case 'list':
      return Array.isArray(value) ? null : 'expected a list';
    case 'timestamp':
      return typeof value === 'number' && Number.isSafeInteger(value) ? null : 'expected an integer timestamp (ms)';
    default:
      return `undeclarable type ${String(field.type)}`;
  }
}

/** The first number JSON and the rules cannot hold exactly (a BigInt beyond ±(2^53 - 1), NaN, ±Infinity), or null. */
function findUnsafeNumber(value: unknown, path: string): string | null {
  if (typeof value === 'bigint') return `${path}: integer beyond ±(2^53 - 1)`;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${path}: not a finite number`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnsafeNumber(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (isPlainMap(value)) {
    for (const key of Object.keys(value)) {
      const found = findUnsafeNumber(value[key], `${path}.${key}`);
      if (found) return found;
    }
  }
  return null;
}
