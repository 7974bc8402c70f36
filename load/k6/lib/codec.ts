/**
 * MessagePack for k6 frames (docs/contract.md §3): plain maps, no extensions, no records.
 * msgpackr guards its use of TextEncoder, TextDecoder and Buffer, so the bundle runs in
 * k6's JavaScript runtime, which has none of them (older releases).
 */
import { Packr, Unpackr } from 'msgpackr';
import type { ClientFrame } from '../../scenarios/index.ts';

const packr = new Packr({ useRecords: false, variableMapSize: true, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** A fresh ArrayBuffer holding one frame (msgpackr reuses its buffer, so the bytes are copied). */
export function encodeFrame(frame: ClientFrame): ArrayBuffer {
  const bytes = packr.pack(frame) as Uint8Array;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

export function decodeFrame(data: ArrayBuffer): unknown {
  return unpackr.unpack(new Uint8Array(data));
}
