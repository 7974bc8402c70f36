/**
 * protocol/codec.ts and scan.ts: plain MessagePack both ways with an independent
 * implementation (@msgpack/msgpack), and every refusal of the pre-scan.
 */
import { decode, encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '../../protocol/codec.ts';
import { MAX_DEPTH } from '../../protocol/limits.ts';
import { scanMessagePack } from '../../protocol/scan.ts';
import { ackFrame, errFrame, helloFrame, offerFrame, pongFrame } from '../../protocol/server-frames.ts';

const bad = (bytes: number[] | Uint8Array) => {
  const r = decodeFrame(Uint8Array.from(bytes));
  return r.ok ? null : r.message;
};

describe('encodeFrame', () => {
  it('writes plain MessagePack that another implementation reads back unchanged', () => {
    const frames = [
      helloFrame('p1', 's1', 1_700_000_000_000),
      ackFrame(['a', 'b']),
      offerFrame({ id: 'o', ruleId: 'r', sku: 's', price: { amount: 199, currency: 'USD' }, expiresAt: 1_700_000_000_000 }),
      pongFrame(7, true),
      pongFrame(undefined, false),
      errFrame('bad_event', 'nope', 'e1'),
    ];
    for (const f of frames) expect(decode(encodeFrame(f))).toEqual(f);
  });

  it('uses no extension types and writes small maps with a fixmap header', () => {
    const bytes = encodeFrame({ t: 'ack', ids: ['x'] });
    expect(bytes[0]).toBe(0x82);
    expect(scanMessagePack(bytes, MAX_DEPTH)).toEqual({ ok: true, hasInt64: false });
    expect([...encodeFrame({ a: undefined })]).toEqual([0x81, 0xa1, 0x61, 0xc0]);
  });
});

describe('decodeFrame', () => {
  it('reads frames written by another implementation', () => {
    const frame = { t: 'evs', events: [{ id: 'e', type: 'level.up', ts: 1_700_000_000_000, data: { level: 3, ratio: 0.5, ok: true, tags: ['a'], m: { k: null } } }] };
    const r = decodeFrame(encode(frame));
    expect(r).toEqual({ ok: true, frame });
  });

  it('narrows 64-bit integers to numbers when safe and keeps BigInt beyond ±(2^53 - 1)', () => {
    const r = decodeFrame(encode({ t: 'ev', a: 5n, b: -(2n ** 53n), c: 2n ** 53n - 1n, d: [2n ** 62n] }, { useBigInt64: true }));
    expect(r).toEqual({ ok: true, frame: { t: 'ev', a: 5, b: -(2n ** 53n), c: 2 ** 53 - 1, d: [2n ** 62n] } });
  });

  it('refuses what is not exactly one map', () => {
    expect(bad([])).toMatch(/empty/);
    expect(bad(encode([1]))).toMatch(/must be a MessagePack map/);
    expect(bad(encode('x'))).toMatch(/must be a MessagePack map/);
    expect(bad([...encode({ t: 'ping' }), 0x00])).toMatch(/trailing/);
    expect(bad(encode({ t: 'ping', n: 'abc' }).subarray(0, 8))).toMatch(/truncated/);
  });

  it('refuses extension types, 0xc1, non-string keys, forbidden keys and invalid UTF-8', () => {
    expect(bad(encode({ t: 'ping', n: new Date(0) }))).toMatch(/extension/);
    expect(bad([0x81, 0xa1, 0x74, 0xd4, 0x72, 0x00])).toMatch(/extension/);
    expect(bad([0x81, 0xa1, 0x74, 0xc1])).toMatch(/0xc1/);
    expect(bad([0x81, 0x01, 0x02])).toMatch(/keys must be strings/);
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const bytes = [0x82, 0xa1, 0x74, 0xa2, 0x65, 0x76, 0xa0 | key.length, ...Buffer.from(key), 0x80];
      expect(bad(bytes)).toMatch(/not allowed/);
    }
    expect(bad([0x81, 0xa1, 0x74, 0xa2, 0xc3, 0x28])).toMatch(/UTF-8/);
    expect(bad([0x81, 0xa1, 0x74, 0xa3, 0xed, 0xa0, 0x80])).toMatch(/UTF-8/);
    expect(bad([0x81, 0xa1, 0x74, 0xa2, 0xc0, 0x80])).toMatch(/UTF-8/);
    expect(decodeFrame(encode({ t: 'ping', n: 'héllo 🎮' }))).toEqual({ ok: true, frame: { t: 'ping', n: 'héllo 🎮' } });
  });

  it('refuses nesting past MAX_DEPTH and accepts it up to the limit', () => {
    const nest = (levels: number) => {
      let v: unknown = 1;
      for (let i = 0; i < levels; i++) v = [v];
      return encode({ t: 'ping', n: v });
    };
    expect(decodeFrame(nest(MAX_DEPTH - 1)).ok).toBe(true);
    expect(bad(nest(MAX_DEPTH))).toMatch(/nesting/);
    expect(bad(new Uint8Array(60_000).fill(0x91))).toMatch(/must be a MessagePack map/);
    expect(bad([0x81, 0xa1, 0x6e, ...new Array(60_000).fill(0x91), 0x01])).toMatch(/nesting/);
  });

  it('refuses containers and strings longer than the frame before allocating them', () => {
    expect(bad([0x81, 0xa1, 0x6e, 0xdd, 0xff, 0xff, 0xff, 0xff])).toMatch(/longer than the frame/);
    expect(bad([0x81, 0xa1, 0x6e, 0xdf, 0x7f, 0xff, 0xff, 0xff])).toMatch(/longer than the frame/);
    expect(bad([0x81, 0xa1, 0x6e, 0xdb, 0xff, 0xff, 0xff, 0xff])).toMatch(/truncated/);
    expect(bad([0x81, 0xa1, 0x6e, 0xc6, 0xff, 0xff, 0xff, 0xff])).toMatch(/truncated/);
  });

  it('never hands out objects whose prototype was touched', () => {
    const r = decodeFrame(encode(JSON.parse('{"t":"ping","n":{"toString":1,"valueOf":2,"hasOwnProperty":3}}')));
    expect(r.ok).toBe(true);
    expect(({} as Record<string, unknown>).toString).toBe(Object.prototype.toString);
  });
});
