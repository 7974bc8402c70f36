/**
 * The frame codec: one binary WebSocket message = one plain MessagePack map (docs/contract.md §3).
 * Shared by the edge, the client SDK, tests and load tools; runs in Node and browsers.
 *
 * Encoding is plain MessagePack as any library reads it: no msgpackr records or structures,
 * no extension types, maps written with the smallest header, `undefined` written as nil
 * (builders never emit it), and integers beyond 32 bits (timestamps in ms) written as
 * int64 (0xd3), never as float64, so typed decoders (C# `long`, C++ `int64_t`) read them. Decoding first checks the raw bytes (scan.ts: depth, sizes,
 * no extensions, string keys only, no `__proto__`/`constructor`/`prototype` keys), then
 * decodes with msgpackr into plain objects. Integers sent in 64-bit form decode to numbers
 * when they are safe integers (|n| <= 2^53 - 1) and stay BigInt beyond that, so nothing is
 * silently rounded; event validation refuses such BigInts.
 */
import { Packr, Unpackr } from 'msgpackr';
import { MAX_DEPTH } from './limits.ts';
import { scanMessagePack } from './scan.ts';
import { errorMessage } from '../lib/errors.ts';

const packr = new Packr({ useRecords: false, variableMapSize: true, moreTypes: false, encodeUndefinedAsNil: true });

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, moreTypes: false, copyBuffers: true, int64AsType: 'bigint' });

export type DecodeResult = { ok: true; frame: Record<string, unknown> } | { ok: false; message: string };

/** Encodes one frame (or any value, e.g. an event's `data` to measure it). */
export function encodeFrame(value: unknown): Uint8Array {
  return packr.pack(wideIntsAsInt64(value));
}

/**
 * The value with every safe integer outside the 32-bit range as a BigInt (which msgpackr
 * writes as int64); copies only the containers on the way to one, returns `value` itself
 * when there is none.
 */
function wideIntsAsInt64(value: unknown): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) && (value > 0xffffffff || value < -0x80000000) ? BigInt(value) : value;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const w = wideIntsAsInt64(v);
      if (w !== v) (out ??= value.slice())[i] = w;
    }
    return out ?? value;
  }
  if (isPlainMap(value)) {
    let out: Record<string, unknown> | null = null;
    for (const key of Object.keys(value)) {
      const v = value[key];
      const w = wideIntsAsInt64(v);
      if (w !== v) (out ??= { ...value })[key] = w;
    }
    return out ?? value;
  }
  return value;
}

/**
 * Decodes one frame. Synchronous and copying: the result holds no reference to `bytes`, so
 * a caller may pass a buffer that is only valid until it returns. Never throws.
 */
export function decodeFrame(bytes: Uint8Array, maxDepth: number = MAX_DEPTH): DecodeResult {
  const first = bytes[0];
  if (first === undefined) return { ok: false, message: 'empty frame' };
  if (!((first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf)) {
    return { ok: false, message: 'a frame must be a MessagePack map' };
  }
  const scan = scanMessagePack(bytes, maxDepth);
  if (!scan.ok) return scan;
  try {
    const value: unknown = scan.hasInt64 ? narrowInt64(unpackr.unpack(bytes)) : unpackr.unpack(bytes);
    if (!isPlainMap(value)) return { ok: false, message: 'a frame must be a MessagePack map' };
    return { ok: true, frame: value };
  } catch (err) {
    return { ok: false, message: `not decodable MessagePack (${errorMessage(err)})` };
  }
}

/** Replaces, in place, every BigInt that is a safe integer by its number. Depth is bounded by the scan. */
function narrowInt64(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = narrowInt64(value[i]);
  } else if (isPlainMap(value)) {
    for (const key of Object.keys(value)) value[key] = narrowInt64(value[key]);
  }
  return value;
}

/** A decoded MessagePack map: a plain object, not an array, binary or null. */
export function isPlainMap(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
