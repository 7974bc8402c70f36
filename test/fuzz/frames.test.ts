/**
 * Property-based fuzzing of the frame decoder and event validator (protocol/): whatever
 * the bytes, the edge's pure path returns `bad_frame` or a per-event verdict, never throws,
 * never touches Object.prototype and never hands out an object with a foreign prototype.
 * Case counts per property are printed at the end (FUZZ_RUNS scales them; default 1).
 */
import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DATA_BYTES, MAX_DEPTH } from '../../protocol/limits.ts';
import { decodeFrame, encodeFrame } from '../../protocol/codec.ts';
import { DATA_SIZE_EVIDENT_FRAME_BYTES } from '../../protocol/validate-event.ts';
import { raw, invalidUtf8, validEvent, validFrame, wrongTypeFor } from './arbitraries.ts';
import { checkProperty, classify, guardPrototype, type Outcome, plainAllTheWay } from './pipeline.ts';

guardPrototype('frames');

function outcomeOf(bytes: Uint8Array): Outcome {
  let out: Outcome | undefined;
  expect(() => {
    out = classify(bytes);
  }).not.toThrow();
  const o = out as Outcome;
  if (o.kind === 'events') {
    for (const r of o.results) {
      if (r.ok) expect(plainAllTheWay(r.event)).toBe(true);
      else expect(typeof r.message).toBe('string');
    }
  }
  return o;
}

const enc = (v: unknown) => encode(v, { useBigInt64: true });

function badEvents(o: Outcome): number {
  return o.kind === 'events' ? o.results.filter((r) => !r.ok).length : 0;
}

describe('frame fuzzing', () => {
  it('accepts every valid frame, with the ids and types as sent', () => {
    checkProperty(
      'valid frames',
      validFrame,
      (frame) => {
        const o = outcomeOf(enc(frame));
        expect(o.kind).toBe('events');
        if (o.kind !== 'events') return;
        const sent = frame.t === 'ev' ? [frame] : (frame.events as Record<string, unknown>[]);
        expect(o.results.map((r) => (r.ok ? [r.event.id, r.event.type] : r.message))).toEqual(sent.map((e) => [e.id, e.type]));
      },
      3_000,
    );
  });

  it('an event\'s data re-encodes to at most twice the bytes the client sent (why a frame of 8 KiB needs no size check)', () => {
    const leaf = fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.float({ noNaN: true }), fc.maxSafeInteger(), fc.string({ maxLength: 40 }), fc.boolean(), fc.constant(null));
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 4 }), tie('o')),
      o: fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)), tie('v'), { maxKeys: 5 }),
    })).o;
    checkProperty(
      'data growth',
      fc.tuple(value, fc.constantFrom({ forceFloat32: true }, {}, { forceIntegerToFloat: true })),
      ([data, options]) => {
        const sent = encode(data, options);
        const decoded = decodeFrame(encode({ t: 'ev', data }, options));
        expect(decoded.ok).toBe(true);
        if (decoded.ok) expect(encodeFrame(decoded.frame.data).length).toBeLessThanOrEqual(2 * sent.length);
      },
      5_000,
    );
    expect(DATA_SIZE_EVIDENT_FRAME_BYTES * 2).toBe(MAX_DATA_BYTES);
  });

  it('random bytes never throw', () => {
    checkProperty('random bytes', fc.uint8Array({ maxLength: 512 }), (b) => void outcomeOf(b), 20_000);
  });

  it('random bytes behind a map header never throw', () => {
    const head = fc.constantFrom([0x81], [0x82], [0x83], [0x8f], [0xde, 0x00, 0x02], [0xdf, 0, 0, 0, 3]);
    checkProperty('random map bodies', fc.tuple(head, fc.uint8Array({ maxLength: 256 })), ([h, b]) => void outcomeOf(Uint8Array.from([...h, ...b])), 20_000);
  });

  it('random bytes spliced into a valid frame never throw', () => {
    const arb = fc.tuple(validFrame, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.boolean());
    checkProperty(
      'spliced frames',
      arb,
      ([frame, at, junk, overwrite]) => {
        const bytes = [...enc(frame)];
        const i = at % bytes.length;
        bytes.splice(i, overwrite ? junk.length : 0, ...junk);
        outcomeOf(Uint8Array.from(bytes));
      },
      10_000,
    );
  });

  it('truncated MessagePack is bad_frame', () => {
    checkProperty(
      'truncated frames',
      fc.tuple(validFrame, fc.nat()),
      ([frame, cut]) => {
        const bytes = enc(frame);
        const o = outcomeOf(bytes.subarray(0, cut % bytes.length));
        expect(o.kind).toBe('bad_frame');
      },
      5_000,
    );
  });

  it('huge declared lengths are bad_frame, refused before anything is allocated', () => {
    const header = fc.oneof(
      fc.integer({ min: 16, max: 0xffff }).map((n) => [0xda, n >> 8, n & 0xff]),
      fc.integer({ min: 0x10000, max: 0xffffffff }).map((n) => [0xdb, ...be32(n)]),
      fc.integer({ min: 0x10000, max: 0xffffffff }).map((n) => [0xc6, ...be32(n)]),
      fc.integer({ min: 16, max: 0xffff }).map((n) => [0xdc, n >> 8, n & 0xff]),
      fc.integer({ min: 0x10000, max: 0xffffffff }).map((n) => [0xdd, ...be32(n)]),
      fc.integer({ min: 16, max: 0xffff }).map((n) => [0xde, n >> 8, n & 0xff]),
      fc.integer({ min: 0x10000, max: 0xffffffff }).map((n) => [0xdf, ...be32(n)]),
    );
    const where = fc.constantFrom('top', 'id', 'data', 'events');
    checkProperty(
      'huge lengths',
      fc.tuple(header, where, fc.uint8Array({ maxLength: 32 })),
      ([h, w, tail]) => {
        const bytes =
          w === 'top'
            ? [...h, ...tail]
            : w === 'id'
              ? [...raw.map(3), ...raw.str('t'), ...raw.str('ev'), ...raw.str('type'), ...raw.str('level.up'), ...raw.str('id'), ...h, ...tail]
              : w === 'data'
                ? [...raw.map(4), ...raw.str('t'), ...raw.str('ev'), ...raw.str('id'), ...raw.str('a'), ...raw.str('type'), ...raw.str('level.up'), ...raw.str('data'), ...h, ...tail]
                : [...raw.map(2), ...raw.str('t'), ...raw.str('evs'), ...raw.str('events'), ...h, ...tail];
        const before = process.memoryUsage().arrayBuffers;
        const o = outcomeOf(Uint8Array.from(bytes));
        expect(o.kind).toBe('bad_frame');
        expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1024 * 1024);
      },
      5_000,
    );
  });

  it('nesting deeper than the limit is bad_frame; within it, never a throw', () => {
    checkProperty(
      'deep nesting',
      fc.tuple(fc.integer({ min: 0, max: 3_000 }), fc.boolean()),
      ([levels, maps]) => {
        const opener = maps ? [...raw.map(1), ...raw.str('k')] : raw.array(1);
        const inner: number[] = [];
        for (let i = 0; i < levels; i++) inner.push(...opener);
        inner.push(...raw.int(1));
        const data = [...raw.map(1), ...raw.str('meta'), ...inner];
        const frame = [...raw.map(4), ...raw.str('t'), ...raw.str('ev'), ...raw.str('id'), ...raw.str('x'), ...raw.str('type'), ...raw.str('stats.sample'), ...raw.str('data'), ...data];
        const depth = 2 + levels;
        const o = outcomeOf(Uint8Array.from(frame));
        if (depth > MAX_DEPTH) {
          expect(o.kind).toBe('bad_frame');
          if (o.kind === 'bad_frame') expect(o.message).toMatch(/nesting/);
        } else expect(o.kind).toBe('events');
      },
      1_000,
    );
  });

  it('__proto__, constructor and prototype keys anywhere are bad_frame and pollute nothing', () => {
    const key = fc.constantFrom('__proto__', 'constructor', 'prototype');
    const at = fc.constantFrom('top', 'data', 'nested', 'batch');
    const payload = fc.oneof(fc.constant({ polluted: true }), fc.constant({ toString: 'x' }), fc.integer(), fc.constant(null));
    checkProperty(
      'forbidden keys',
      fc.tuple(validEvent, key, at, payload),
      ([event, k, a, v]) => {
        const e = { ...event, data: { ...(event.data ?? {}) } } as Record<string, unknown>;
        let frame: Record<string, unknown>;
        if (a === 'top') frame = withOwnKey({ t: 'ev', ...e }, k, v);
        else if (a === 'data') frame = { t: 'ev', ...e, data: withOwnKey({ ...(e.data as object) }, k, v) };
        else if (a === 'nested') frame = { t: 'ev', ...e, data: { ...(e.data as object), deep: { deeper: withOwnKey({}, k, v) } } };
        else frame = { t: 'evs', events: [e, withOwnKey({ id: 'b', type: 'level.up', data: { level: 1 } }, k, v)] };
        const o = outcomeOf(enc(frame));
        expect(o.kind).toBe('bad_frame');
      },
      5_000,
    );
  });

  it('arbitrary objects with hostile keys decode to plain data only', () => {
    const hostileKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__'), fc.string({ maxLength: 6 }));
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.string({ maxLength: 6 }), fc.boolean(), fc.constant(null), fc.array(tie('v'), { maxLength: 3 }), tie('o')),
      o: fc.dictionary(hostileKey, tie('v'), { maxKeys: 4 }),
    })).v;
    checkProperty(
      'hostile objects',
      fc.tuple(validEvent, value),
      ([event, v]) => {
        outcomeOf(enc({ t: 'ev', ...event, data: { ...(event.data ?? {}), extra: v } }));
        outcomeOf(enc(v));
      },
      5_000,
    );
  });

  it('a wrong type in any field is bad_frame or bad_event naming the event, never accepted', () => {
    const target = fc.constantFrom('t', 'id', 'type', 'ts', 'data', 'events', 'result', 'level', 'sku', 'score', 'flag', 'tags', 'meta', 'at');
    checkProperty(
      'wrong types',
      fc.tuple(target, fc.context()).chain(([field, ctx]) => {
        const kind = ({ t: 'string', id: 'string', type: 'string', ts: 'int', data: 'map', events: 'list', result: 'string', level: 'int', sku: 'string', score: 'number', flag: 'bool', tags: 'list', meta: 'map', at: 'int' } as const)[field];
        ctx.log(field);
        return fc.tuple(fc.constant(field), wrongTypeFor(kind));
      }),
      ([field, bad]) => {
        const base: Record<string, Record<string, unknown>> = {
          result: { id: 'e1', type: 'match.end', data: { result: 'win' } },
          level: { id: 'e1', type: 'level.up', data: { level: 3 } },
          sku: { id: 'e1', type: 'shop.purchase', data: { sku: 'x' } },
          score: { id: 'e1', type: 'stats.sample', data: { score: 1.5 } },
          flag: { id: 'e1', type: 'stats.sample', data: { score: 1, flag: true } },
          tags: { id: 'e1', type: 'stats.sample', data: { score: 1, tags: [] } },
          meta: { id: 'e1', type: 'stats.sample', data: { score: 1, meta: {} } },
          at: { id: 'e1', type: 'stats.sample', data: { score: 1, at: 5 } },
        };
        let frame: Record<string, unknown>;
        if (field === 'events') frame = { t: 'evs', events: bad };
        else if (field in base) {
          const e = base[field] as Record<string, unknown>;
          frame = { t: 'ev', ...e, data: { ...(e.data as object), [field]: bad } };
        } else frame = { t: 'ev', id: 'e1', type: 'level.up', data: { level: 1 }, [field]: bad };
        if (field === 'ts' && bad === null) return;
        const o = outcomeOf(enc(frame));
        if (field === 't' || field === 'events') {
          expect(o.kind).toBe('bad_frame');
          return;
        }
        expect(o.kind).toBe('events');
        if (o.kind !== 'events') return;
        expect(o.results).toHaveLength(1);
        const r = o.results[0];
        expect(r?.ok).toBe(false);
        if (r && !r.ok && field !== 'id') expect(r.id).toBe('e1');
      },
      5_000,
    );
  });

  it('NaN and ±Infinity are bad_event in ts and in every numeric field', () => {
    const nonFinite = fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
    const where = fc.constantFrom('ts', 'level', 'coins', 'duration_s', 'score', 'at');
    checkProperty(
      'non-finite numbers',
      fc.tuple(nonFinite, where),
      ([x, w]) => {
        const frame =
          w === 'ts'
            ? { t: 'ev', id: 'e1', type: 'level.up', ts: x, data: { level: 1 } }
            : w === 'level'
              ? { t: 'ev', id: 'e1', type: 'level.up', data: { level: x } }
              : w === 'coins'
                ? { t: 'ev', id: 'e1', type: 'shop.purchase', data: { sku: 's', coins: x } }
                : w === 'duration_s'
                  ? { t: 'ev', id: 'e1', type: 'match.end', data: { result: 'win', duration_s: x } }
                  : { t: 'ev', id: 'e1', type: 'stats.sample', data: { score: w === 'score' ? x : 1, ...(w === 'at' ? { at: x } : {}) } };
        const o = outcomeOf(enc(frame));
        expect(badEvents(o)).toBe(1);
      },
      1_000,
    );
  });

  it('64-bit integers beyond ±2^53 (not exact as numbers) are bad_event wherever they are; safe ones sent as int64 are accepted', () => {
    const unsafe = fc.oneof(fc.bigInt({ min: 2n ** 53n + 1n, max: 2n ** 63n - 1n }), fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 53n) - 1n }));
    const where = fc.constantFrom('ts', 'level', 'undeclared', 'nested');
    checkProperty(
      '64-bit integers',
      fc.tuple(unsafe, where, fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
      ([big, w, safe]) => {
        const data = w === 'level' ? { level: big } : w === 'undeclared' ? { level: 1, big } : w === 'nested' ? { level: 1, x: [{ y: big }] } : { level: 1 };
        const frame = { t: 'ev', id: 'e1', type: 'level.up', ...(w === 'ts' ? { ts: big } : {}), data };
        expect(badEvents(outcomeOf(enc(frame)))).toBe(1);
        const bytes = [...raw.map(4), ...raw.str('t'), ...raw.str('ev'), ...raw.str('id'), ...raw.str('e2'), ...raw.str('type'), ...raw.str('level.up'), ...raw.str('data'), ...raw.map(1), ...raw.str('level'), ...raw.int(safe)];
        const o = outcomeOf(Uint8Array.from(bytes));
        expect(o.kind === 'events' && o.results[0]?.ok === true && o.results[0].event.data?.level === safe).toBe(true);
      },
      3_000,
    );
  });

  it('strings that are not valid UTF-8 are refused, wherever they are', () => {
    const where = fc.constantFrom('t', 'id', 'type', 'key', 'value', 'sku');
    checkProperty(
      'invalid utf-8',
      fc.tuple(invalidUtf8, where),
      ([bad, w]) => {
        const s = (name: string, text: string) => (w === name ? raw.strBytes(bad) : raw.str(text));
        const bytes = [
          ...raw.map(4),
          ...raw.str('t'),
          ...s('t', 'ev'),
          ...raw.str('id'),
          ...s('id', 'e1'),
          ...raw.str('type'),
          ...s('type', 'shop.purchase'),
          ...raw.str('data'),
          ...raw.map(2),
          ...raw.str('sku'),
          ...s('sku', 'coins.small'),
          ...(w === 'key' ? raw.strBytes(bad) : raw.str('note')),
          ...s('value', 'fine'),
        ];
        const o = outcomeOf(Uint8Array.from(bytes));
        expect(o.kind === 'bad_frame' || badEvents(o) === 1).toBe(true);
      },
      3_000,
    );
  });
});

/** `obj` with an own enumerable property `key` (even `__proto__`), as a hostile client would encode it. */
function withOwnKey(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  return obj;
}

function be32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}
