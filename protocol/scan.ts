/**
 * A structural check of one MessagePack value, run on the raw bytes before they are decoded.
 * It walks the bytes without allocating values and refuses, with a reason:
 *
 *   - anything but exactly one value filling the buffer (truncated or trailing bytes);
 *   - extension types (0xc7-0xc9, 0xd4-0xd8) and the unused byte 0xc1: the protocol is plain
 *     MessagePack, and some decoders give extension types meaning (records, timestamps);
 *   - map keys that are not strings, and the keys of FORBIDDEN_KEYS;
 *   - nesting deeper than `maxDepth` (the walk is iterative, so depth costs no stack);
 *   - a container announcing more entries than bytes remain (each entry takes at least one);
 *   - strings (keys and values) that are not well-formed UTF-8.
 *
 * It also reports whether any 64-bit integer (0xcf, 0xd3) occurs, so the decoder knows
 * whether BigInts need narrowing.
 *
 * Pure; valid for any Uint8Array, which it only reads.
 */
import { FORBIDDEN_KEYS } from './limits.ts';

const forbidden = FORBIDDEN_KEYS.map((k) => Array.from(k, (c) => c.charCodeAt(0)));

export type ScanResult = { ok: true; hasInt64: boolean } | { ok: false; message: string };

export function scanMessagePack(buf: Uint8Array, maxDepth: number): ScanResult {
  const problem = walk(buf, maxDepth);
  return typeof problem === 'string' ? { ok: false, message: problem } : { ok: true, hasInt64: problem };
}

/** A reason to refuse, or whether a 64-bit integer occurs. */
function walk(buf: Uint8Array, maxDepth: number): string | boolean {
  const end = buf.length;
  if (end === 0) return 'empty frame';
  let hasInt64 = false;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const remaining: number[] = [];
  const isMap: boolean[] = [];
  let pos = 0;
  do {
    const top = remaining.length - 1;
    const expectKey = top >= 0 && isMap[top] === true && (remaining[top] as number) % 2 === 0;
    if (pos >= end) return 'truncated MessagePack';
    const b = buf[pos++] as number;
    let items = -1;
    let map = false;
    let str = -1;
    let skip = 0;
    let need = 0;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) {
      skip = 0;
    } else if (b <= 0x8f) {
      items = b & 0x0f;
      map = true;
    } else if (b <= 0x9f) {
      items = b & 0x0f;
    } else if (b <= 0xbf) {
      str = b & 0x1f;
    } else {
      const width = lengthWidth(b);
      if (width === -1) return b === 0xc1 ? 'invalid byte 0xc1' : 'MessagePack extension types are not allowed';
      if (pos + width > end) return 'truncated MessagePack';
      const n = width === 0 ? 0 : width === 1 ? view.getUint8(pos) : width === 2 ? view.getUint16(pos) : view.getUint32(pos);
      pos += width;
      if (b >= 0xc4 && b <= 0xc6) skip = n;
      else if (b >= 0xd9 && b <= 0xdb) str = n;
      else if (b === 0xcf || b === 0xd3) {
        hasInt64 = true;
        skip = 8;
      }
      else if (b === 0xdc || b === 0xdd) items = n;
      else if (b === 0xde || b === 0xdf) {
        items = n;
        map = true;
      } else skip = fixedWidth(b);
    }
    if (expectKey && str < 0) return 'map keys must be strings';
    if (str >= 0) {
      if (pos + str > end) return 'truncated MessagePack';
      if (!isUtf8(buf, pos, str)) return 'a string is not valid UTF-8';
      if (expectKey && isForbiddenKey(buf, pos, str)) return 'map key is not allowed (__proto__, constructor, prototype)';
      pos += str;
    } else {
      if (pos + skip > end) return 'truncated MessagePack';
      pos += skip;
    }
    if (top >= 0) remaining[top] = (remaining[top] as number) - 1;
    if (items >= 0) {
      need = map ? items * 2 : items;
      if (need > end - pos) return 'container is longer than the frame';
      if (remaining.length >= maxDepth) return `nesting deeper than ${maxDepth}`;
      if (need > 0) {
        remaining.push(need);
        isMap.push(map);
      }
    }
    while (remaining.length > 0 && remaining[remaining.length - 1] === 0) {
      remaining.pop();
      isMap.pop();
    }
  } while (remaining.length > 0);
  if (pos !== end) return 'trailing bytes after the MessagePack value';
  return hasInt64;
}

/** Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
function isUtf8(buf: Uint8Array, at: number, len: number): boolean {
  const end = at + len;
  let i = at;
  while (i < end) {
    const c = buf[i] as number;
    if (c < 0x80) {
      i += 1;
      continue;
    }
    let n: number;
    let min: number;
    let cp: number;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      min = 0x80;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      min = 0x800;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      min = 0x10000;
      cp = c & 0x07;
    } else return false;
    if (i + n >= end) return false;
    for (let k = 1; k <= n; k++) {
      const cc = buf[i + k] as number;
      if ((cc & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

/** Bytes of the length field that follows a type byte; 0 for fixed-width scalars; -1 if refused. */
function lengthWidth(b: number): number {
  switch (b) {
    case 0xc4:
    case 0xd9:
      return 1;
    case 0xc5:
    case 0xda:
    case 0xdc:
    case 0xde:
      return 2;
    case 0xc6:
    case 0xdb:
    case 0xdd:
    case 0xdf:
      return 4;
    case 0xca:
    case 0xcb:
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
      return 0;
    default:
      return -1;
  }
}

function fixedWidth(b: number): number {
  switch (b) {
    case 0xcc:
    case 0xd0:
      return 1;
    case 0xcd:
    case 0xd1:
      return 2;
    case 0xca:
    case 0xce:
    case 0xd2:
      return 4;
    default:
      return 8;
  }
}

function isForbiddenKey(buf: Uint8Array, at: number, len: number): boolean {
  for (const key of forbidden) {
    if (key.length !== len) continue;
    let same = true;
    for (let i = 0; i < len; i++) {
      if (buf[at + i] !== key[i]) {
        same = false;
        break;
      }
    }
    if (same) return true;
  }
  return false;
}
