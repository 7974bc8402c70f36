/**
 * Property-based fuzzing of the Kafka record decoder (protocol/record.ts): a record value is
 * untrusted input like a client frame. Whatever the bytes, decodeRecords returns events with
 * no `__proto__`/`constructor`/`prototype` own key anywhere, or throws PROC_POISON_EVENT
 * (which processors dead-letter); never another error, never a touched Object.prototype.
 * Case counts per property are printed at the end (FUZZ_RUNS scales them; default 1).
 */
import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPlayPulseError } from '../../lib/errors.ts';
import { FORBIDDEN_KEYS, STREAM_PATTERN } from '../../protocol/limits.ts';
import { decodeRecords, encodeFrameRecord, encodeRecord, type EventRecord, type FrameRecord } from '../../protocol/record.ts';
import { validEvent } from './arbitraries.ts';
import { checkProperty, guardPrototype, plainAllTheWay } from './pipeline.ts';

guardPrototype('records');

type Decoded = { kind: 'record'; record: EventRecord; records: EventRecord[] } | { kind: 'poison'; message: string };

/** decodeRecords' outcome (`record`: the first event); a throw of anything but PROC_POISON_EVENT fails the case. */
function decode(bytes: Uint8Array): Decoded {
  try {
    const records = decodeRecords(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    expect(records.length).toBeGreaterThan(0);
    for (const record of records) {
      expect(plainAllTheWay(record)).toBe(true);
      expect(forbiddenKeyIn(record)).toBeNull();
    }
    return { kind: 'record', record: records[0] as EventRecord, records };
  } catch (err) {
    expect(isPlayPulseError(err) && err.code === 'PROC_POISON_EVENT', `unexpected throw: ${String(err)}`).toBe(true);
    return { kind: 'poison', message: (err as Error).message };
  }
}

/** The first forbidden own key anywhere in `value`, or null. */
function forbiddenKeyIn(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return null;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.includes(key)) return key;
    const inner = forbiddenKeyIn((value as Record<string, unknown>)[key]);
    if (inner !== null) return inner;
  }
  return null;
}

/** A version-1 record as the edge writes it, from a valid event of the fuzz taxonomy. */
const validRecord: fc.Arbitrary<EventRecord> = fc
  .tuple(validEvent, fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/), fc.integer({ min: 0, max: 2 ** 50 }), fc.option(fc.integer({ min: 1, max: 2 ** 40 }), { nil: undefined }))
  .map(([e, player, recvAt, seq]) => {
    const r: EventRecord = { v: 1, player, id: e.id, type: e.type, recvAt, edge: 'edge-1', session: 's-1' };
    if (e.ts !== undefined) r.ts = e.ts;
    if (e.data !== undefined) r.data = e.data;
    if (seq !== undefined) {
      r.stream = 'app-1';
      r.seq = seq;
    }
    return r;
  });

/** A version-2 record as the edge writes it: 1..6 valid events of one frame, with or without a stream. */
const validFrameRecord: fc.Arbitrary<FrameRecord> = fc
  .tuple(fc.array(fc.tuple(validEvent, fc.option(fc.integer({ min: 1, max: 2 ** 40 }), { nil: undefined })), { minLength: 1, maxLength: 6 }), fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/), fc.integer({ min: 0, max: 2 ** 50 }), fc.boolean())
  .map(([list, player, recvAt, streamed]) => {
    const events = list.map(([e, seq]) => {
      const out: FrameRecord['events'][number] = { id: e.id, type: e.type };
      if (e.ts !== undefined) out.ts = e.ts;
      if (e.data !== undefined) out.data = e.data;
      if (streamed && seq !== undefined) out.seq = seq;
      return out;
    });
    const r: FrameRecord = { v: 2, player, recvAt, edge: 'edge-1', session: 's-1', events };
    if (streamed) r.stream = 'app-1';
    return r;
  });

/** The events a reader should get from a version-2 record. */
function flattened(r: FrameRecord): EventRecord[] {
  return r.events.map((e) => {
    const out: EventRecord = { v: 2, player: r.player, id: e.id, type: e.type, recvAt: r.recvAt, edge: r.edge, session: r.session };
    if (e.ts !== undefined) out.ts = e.ts;
    if (e.data !== undefined) out.data = e.data;
    if (e.seq !== undefined) {
      out.stream = r.stream as string;
      out.seq = e.seq;
    }
    return out;
  });
}

/** `obj` with an own enumerable property `key` (even `__proto__`), as a hostile producer would encode it. */
function withOwnKey(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  return obj;
}

/**
 * `value` (a map or list) with `key: payload` added to the map reached by following `path`
 * (indexes into containers, modulo their size; a list whose chosen item is not a container
 * gets a new map holding the key).
 */
function plant(value: object, path: readonly number[], key: string, payload: unknown): unknown {
  if (Array.isArray(value)) {
    const i = value.length === 0 ? -1 : (path[0] ?? 0) % value.length;
    const target: unknown = i >= 0 ? value[i] : undefined;
    if (path.length === 0 || target === null || typeof target !== 'object') return [...value, withOwnKey({}, key, payload)];
    return value.map((v, j) => (j === i ? plant(v, path.slice(1), key, payload) : v));
  }
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) copy[k] = v;
  const keys = Object.keys(copy).filter((k) => copy[k] !== null && typeof copy[k] === 'object');
  if (path.length === 0 || keys.length === 0) return withOwnKey(copy, key, payload);
  const k = keys[(path[0] as number) % keys.length] as string;
  copy[k] = plant(copy[k] as object, path.slice(1), key, payload);
  return copy;
}

const enc = (v: unknown) => encode(v, { useBigInt64: true });

describe('record fuzzing', () => {
  it('decodes every record the edge writes, as written', () => {
    checkProperty('valid records', validRecord, (r) => {
      const bytes = encodeRecord(r);
      const d = decode(bytes);
      expect(d.kind).toBe('record');
      if (d.kind === 'record') {
        expect(d.records).toHaveLength(1);
        expect(encodeRecord(d.record)).toEqual(bytes);
      }
    }, 3_000);
  });

  it('decodes every version-2 record (one per frame) as the events written, in order', () => {
    checkProperty('valid frame records', validFrameRecord, (r) => {
      const d = decode(encodeFrameRecord(r));
      expect(d.kind).toBe('record');
      // Compared as encoded: -0 in data is written as 0.
      if (d.kind === 'record') expect(d.records.map((e) => encodeRecord(e))).toEqual(flattened(r).map((e) => encodeRecord(e)));
    }, 3_000);
  });

  it('random bytes spliced into a valid version-2 record are events or PROC_POISON_EVENT', () => {
    checkProperty(
      'spliced frame records',
      fc.tuple(validFrameRecord, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.boolean()),
      ([r, at, junk, overwrite]) => {
        const bytes = [...encodeFrameRecord(r)];
        bytes.splice(at % bytes.length, overwrite ? junk.length : 0, ...junk);
        decode(Uint8Array.from(bytes));
      },
      10_000,
    );
  });

  it('a wrong type in a version-2 record or one of its events is PROC_POISON_EVENT, never accepted', () => {
    const field = fc.constantFrom('v', 'player', 'recvAt', 'edge', 'session', 'stream', 'events');
    const eventField = fc.constantFrom('id', 'type', 'ts', 'data', 'seq');
    const wrong = fc.oneof(fc.string({ maxLength: 4 }), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.uint8Array({ maxLength: 4 }), fc.bigInt({ min: 2n ** 60n, max: 2n ** 62n }));
    checkProperty(
      'wrong types in frame records',
      fc.tuple(validFrameRecord, fc.oneof(field.map((f) => ({ f, inEvent: false })), eventField.map((f) => ({ f, inEvent: true }))), wrong, fc.nat()),
      ([r, { f, inEvent }, bad, at]) => {
        const i = at % r.events.length;
        const value = inEvent ? { ...r, events: r.events.map((e, j) => (j === i ? { ...e, [f]: bad } : e)) } : { ...r, [f]: bad };
        const d = decode(enc(value));
        if (d.kind === 'record') {
          const kept = inEvent ? (d.records[i] as unknown as Record<string, unknown>)[f] : (d.record as unknown as Record<string, unknown>)[f];
          if (f === 'v') expect(d.record.v).toBe(2);
          else if (f === 'events') expect(d.records.length).toBeGreaterThan(0);
          // A record-level stream reaches only the events that have a seq.
          else if (f === 'stream') expect(kept === undefined || (typeof kept === 'string' && STREAM_PATTERN.test(kept))).toBe(true);
          else if (f === 'ts' || f === 'recvAt') expect(Number.isFinite(kept)).toBe(true);
          else if (f === 'seq') expect(Number.isSafeInteger(kept)).toBe(true);
          else if (f === 'data') expect(plainAllTheWay(kept) && kept !== null && typeof kept === 'object' && !Array.isArray(kept)).toBe(true);
          else expect(typeof kept).toBe('string');
        }
      },
      5_000,
    );
  });

  it('random bytes are a record or PROC_POISON_EVENT, nothing else', () => {
    checkProperty('random bytes', fc.uint8Array({ maxLength: 512 }), (b) => void decode(b), 20_000);
  });

  it('random bytes behind a map header are a record or PROC_POISON_EVENT', () => {
    const head = fc.constantFrom([0x81], [0x87], [0x8b], [0x8f], [0xde, 0x00, 0x09], [0xdf, 0, 0, 0, 8]);
    checkProperty('random map bodies', fc.tuple(head, fc.uint8Array({ maxLength: 256 })), ([h, b]) => void decode(Uint8Array.from([...h, ...b])), 20_000);
  });

  it('random bytes spliced into a valid record are a record or PROC_POISON_EVENT', () => {
    checkProperty(
      'spliced records',
      fc.tuple(validRecord, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.boolean()),
      ([r, at, junk, overwrite]) => {
        const bytes = [...encodeRecord(r)];
        bytes.splice(at % bytes.length, overwrite ? junk.length : 0, ...junk);
        decode(Uint8Array.from(bytes));
      },
      10_000,
    );
  });

  it('a forbidden key anywhere in a valid record is PROC_POISON_EVENT and pollutes nothing', () => {
    const key = fc.constantFrom(...FORBIDDEN_KEYS);
    const payload = fc.oneof(fc.constant({ polluted: true }), fc.constant({ toString: 'x' }), fc.integer(), fc.constant(null), fc.constant([{ polluted: 1 }]));
    const nest = fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.oneof(fc.integer(), fc.array(fc.dictionary(fc.constantFrom('x', 'y'), fc.integer(), { maxKeys: 2 }), { maxLength: 2 })), { maxKeys: 3 });
    checkProperty(
      'forbidden keys',
      fc.tuple(validRecord, nest, key, payload, fc.array(fc.nat(), { maxLength: 5 })),
      ([r, extra, k, v, path]) => {
        const hostile = plant({ ...r, data: { ...(r.data ?? {}), extra } }, path, k, v);
        const d = decode(enc(hostile));
        expect(d.kind).toBe('poison');
        if (d.kind === 'poison') expect(d.message).toMatch(/map key is not allowed/);
      },
      5_000,
    );
  });

  it('hostile objects as a record or its data decode to plain data only, or PROC_POISON_EVENT', () => {
    const hostileKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'v', 'data'), fc.string({ maxLength: 6 }));
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.string({ maxLength: 6 }), fc.boolean(), fc.constant(null), fc.array(tie('v'), { maxLength: 3 }), tie('o')),
      o: fc.dictionary(hostileKey, tie('v'), { maxKeys: 4 }),
    })).v;
    checkProperty(
      'hostile objects',
      fc.tuple(validRecord, value),
      ([r, v]) => {
        decode(enc({ ...r, data: { ...(r.data ?? {}), extra: v } }));
        decode(enc(v));
      },
      5_000,
    );
  });

  it('a wrong type in any field is PROC_POISON_EVENT, never accepted', () => {
    const field = fc.constantFrom('v', 'player', 'id', 'type', 'recvAt', 'edge', 'session', 'ts', 'data', 'stream', 'seq');
    const wrong = fc.oneof(fc.string({ maxLength: 4 }), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.uint8Array({ maxLength: 4 }), fc.bigInt({ min: 2n ** 60n, max: 2n ** 62n }));
    checkProperty(
      'wrong types',
      fc.tuple(validRecord, field, wrong),
      ([r, f, bad]) => {
        const d = decode(enc({ ...r, [f]: bad }));
        if (d.kind === 'record') {
          // Only a value of the field's own type may pass (a string where one is due, a finite number for a time).
          const kept = (d.record as unknown as Record<string, unknown>)[f];
          if (f === 'v') expect(kept).toBe(1);
          else if (f === 'ts' || f === 'recvAt') expect(Number.isFinite(kept)).toBe(true);
          else if (f === 'seq') expect(Number.isSafeInteger(kept)).toBe(true);
          else if (f === 'data') expect(plainAllTheWay(kept) && kept !== null && typeof kept === 'object' && !Array.isArray(kept)).toBe(true);
          else expect(typeof kept).toBe('string');
        }
      },
      5_000,
    );
  });
});
