/**
 * fast-check arbitraries for protocol-v1 frames: valid events of the fuzz taxonomy
 * (pipeline.ts), and a raw MessagePack writer for bytes no encoder would produce (invalid
 * UTF-8, lying length headers, forbidden keys).
 */
import fc from 'fast-check';
import type { WireEvent } from '../../protocol/client-frames.ts';

const idArb = fc.string({ minLength: 1, maxLength: 64, unit: 'grapheme-ascii' });

const matchEnd = fc.record(
  { result: fc.constantFrom('win', 'loss', 'draw'), duration_s: fc.integer({ min: 0, max: 100_000 }), mode: fc.string({ maxLength: 20 }) },
  { requiredKeys: ['result'] },
);
const purchase = fc.record({ sku: fc.string({ minLength: 1, maxLength: 20 }), coins: fc.integer() }, { requiredKeys: ['sku'] });
const levelUp = fc.record({ level: fc.integer({ min: 0, max: 1000 }) });
const sample = fc.record(
  {
    score: fc.double({ noNaN: true, noDefaultInfinity: true }),
    flag: fc.boolean(),
    tags: fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
    meta: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)), fc.integer(), { maxKeys: 4 }),
    at: fc.integer({ min: 0, max: 2 ** 52 }),
  },
  { requiredKeys: ['score'] },
);

/** A valid event of the fuzz taxonomy. */
export const validEvent: fc.Arbitrary<WireEvent> = fc
  .tuple(
    idArb,
    fc.oneof(
      matchEnd.map((data) => ({ type: 'match.end', data })),
      purchase.map((data) => ({ type: 'shop.purchase', data })),
      levelUp.map((data) => ({ type: 'level.up', data })),
      sample.map((data) => ({ type: 'stats.sample', data })),
    ),
    fc.option(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), { nil: undefined }),
  )
  .map(([id, { type, data }, ts]) => (ts === undefined ? { id, type, data } : { id, type, ts, data }));

/** A valid `ev` or `evs` frame as a plain object. */
export const validFrame: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  validEvent.map((e) => ({ t: 'ev', ...e })),
  fc.array(validEvent, { minLength: 1, maxLength: 8 }).map((events) => ({ t: 'evs', events })),
);

/** Values of a type other than `kind` ('string', 'int', 'number', 'bool', 'map', 'list'). */
export function wrongTypeFor(kind: 'string' | 'int' | 'number' | 'bool' | 'map' | 'list'): fc.Arbitrary<unknown> {
  const all: Record<string, fc.Arbitrary<unknown>> = {
    string: fc.string({ maxLength: 10 }),
    int: fc.integer(),
    float: fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }),
    bool: fc.boolean(),
    map: fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.integer(), { maxKeys: 3 }),
    list: fc.array(fc.integer(), { maxLength: 3 }),
    bin: fc.uint8Array({ maxLength: 8 }),
  };
  const exclude: Record<string, string[]> = {
    string: ['string'],
    int: ['int'],
    number: ['int', 'float'],
    bool: ['bool'],
    map: ['map'],
    list: ['list'],
  };
  return fc.oneof(...Object.entries(all).filter(([k]) => !(exclude[kind] ?? []).includes(k)).map(([, a]) => a));
}

/** Minimal raw MessagePack writer for hand-made bytes. */
export const raw = {
  map(n: number): number[] {
    if (n < 16) return [0x80 | n];
    return n < 0x10000 ? [0xde, n >> 8, n & 0xff] : [0xdf, ...u32(n)];
  },
  array(n: number): number[] {
    if (n < 16) return [0x90 | n];
    return n < 0x10000 ? [0xdc, n >> 8, n & 0xff] : [0xdd, ...u32(n)];
  },
  /** A string whose payload is `bytes` as given (valid UTF-8 or not). */
  strBytes(bytes: readonly number[]): number[] {
    const n = bytes.length;
    const head = n < 32 ? [0xa0 | n] : n < 256 ? [0xd9, n] : n < 0x10000 ? [0xda, n >> 8, n & 0xff] : [0xdb, ...u32(n)];
    return [...head, ...bytes];
  },
  str(s: string): number[] {
    return raw.strBytes([...Buffer.from(s, 'utf8')]);
  },
  int(n: number): number[] {
    if (n >= 0 && n < 128) return [n];
    const b = Buffer.alloc(9);
    b[0] = 0xd3;
    b.writeBigInt64BE(BigInt(n), 1);
    return [...b];
  },
};

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** Byte sequences that are not valid UTF-8: lone continuation bytes, overlongs, surrogates, truncated sequences, > U+10FFFF. */
export const invalidUtf8: fc.Arbitrary<number[]> = fc
  .tuple(
    fc.array(fc.integer({ min: 0x61, max: 0x7a }), { maxLength: 6 }),
    fc.constantFrom(
      [0x80],
      [0xbf],
      [0xc0, 0xaf],
      [0xc1, 0xbf],
      [0xe0, 0x80, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xed, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf5, 0x80, 0x80, 0x80],
      [0xff],
      [0xfe],
      [0xe2, 0x82],
      [0xf0, 0x9f, 0x98],
      [0xc3],
    ),
    fc.array(fc.integer({ min: 0x61, max: 0x7a }), { maxLength: 6 }),
  )
  .map(([a, bad, b]) => [...a, ...bad, ...b]);
