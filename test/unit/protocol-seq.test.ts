/** Streams and seq on the wire and in the Kafka record (docs/protocol.md, "Resends and de-duplication"). */
import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { streamFromQuery } from '../../edge/server.ts';
import type { EventSpec } from '../../designer/types.ts';
import { evFrame, evsFrame } from '../../protocol/client-frames.ts';
import { decodeFrame } from '../../protocol/codec.ts';
import { RESEND_WINDOW, STREAM_PATTERN } from '../../protocol/limits.ts';
import { decodeRecord, encodeRecord, type EventRecord } from '../../protocol/record.ts';
import { helloFrame, parseServerFrame } from '../../protocol/server-frames.ts';
import { validateEvent } from '../../protocol/validate-event.ts';

const taxonomy = new Map<string, EventSpec>([['ping.only', { type: 'ping.only', builtin: false, fields: new Map() }]]);
const withStream = (raw: unknown) => validateEvent(raw, taxonomy, { hasStream: true });

describe('seq on an event', () => {
  it('is kept when it is an integer 1..2^53 - 1 on a socket with a stream', () => {
    expect(withStream({ id: 'a', type: 'ping.only', seq: 1 })).toEqual({ ok: true, event: { id: 'a', type: 'ping.only', seq: 1 } });
    expect(withStream({ id: 'b', type: 'ping.only', seq: Number.MAX_SAFE_INTEGER })).toEqual({ ok: true, event: { id: 'b', type: 'ping.only', seq: Number.MAX_SAFE_INTEGER } });
    expect(withStream({ id: 'c', type: 'ping.only', seq: null })).toEqual({ ok: true, event: { id: 'c', type: 'ping.only' } });
  });

  it('is refused, for that event only, when out of range or not an integer', () => {
    for (const seq of [0, -1, 1.5, '7', Number.NaN, Infinity, 2 ** 53, true, [1], { n: 1 }]) {
      expect(withStream({ id: 'e', type: 'ping.only', seq })).toEqual({ ok: false, id: 'e', message: '`seq` must be an integer 1..2^53 - 1' });
    }
  });

  it('is refused as bad_event on a socket without a stream (the default)', () => {
    expect(validateEvent({ id: 'e', type: 'ping.only', seq: 3 }, taxonomy)).toEqual({ ok: false, id: 'e', message: expect.stringMatching(/needs a stream/) });
    expect(validateEvent({ id: 'e', type: 'ping.only', seq: 3 }, taxonomy, { hasStream: false }).ok).toBe(false);
    expect(validateEvent({ id: 'e', type: 'ping.only' }, taxonomy, { hasStream: false }).ok).toBe(true);
  });

  it('beyond 2^53 - 1 on the wire decodes as a BigInt and is refused', () => {
    const bytes = encode({ t: 'ev', id: 'big', type: 'ping.only', seq: 2n ** 53n }, { useBigInt64: true });
    const decoded = decodeFrame(bytes);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(withStream(decoded.frame)).toEqual({ ok: false, id: 'big', message: '`seq` must be an integer 1..2^53 - 1' });
    const safe = decodeFrame(encode({ t: 'ev', id: 'ok', type: 'ping.only', seq: 2n ** 53n - 1n }, { useBigInt64: true }));
    expect(safe.ok && withStream(safe.frame)).toEqual({ ok: true, event: { id: 'ok', type: 'ping.only', seq: Number.MAX_SAFE_INTEGER } });
  });

  it('is written by the frame builders when set, and only then', () => {
    expect(evFrame({ id: 'a', type: 'x', seq: 9 })).toEqual({ t: 'ev', id: 'a', type: 'x', seq: 9 });
    expect(evFrame({ id: 'a', type: 'x' })).toEqual({ t: 'ev', id: 'a', type: 'x' });
    expect(evsFrame([{ id: 'a', type: 'x', seq: 1 }, { id: 'b', type: 'x', seq: 2 }])).toEqual({ t: 'evs', events: [{ id: 'a', type: 'x', seq: 1 }, { id: 'b', type: 'x', seq: 2 }] });
  });
});

describe('stream of the upgrade', () => {
  it('is 1..64 of [A-Za-z0-9_.:-]; absent is fine, anything else is refused', () => {
    expect(streamFromQuery(undefined)).toBeUndefined();
    expect(streamFromQuery('aZ09_.:-')).toBe('aZ09_.:-');
    expect(streamFromQuery('s'.repeat(64))).toBe('s'.repeat(64));
    for (const bad of ['', 's'.repeat(65), 'has space', 'slash/', 'é', 'a+b']) expect(streamFromQuery(bad)).toBe(false);
  });

  it('is echoed by hello when given, and absent otherwise', () => {
    expect(helloFrame('p', 's', 5, 'st-1')).toEqual({ t: 'hello', player: 'p', session: 's', serverTime: 5, stream: 'st-1' });
    expect(helloFrame('p', 's', 5)).toEqual({ t: 'hello', player: 'p', session: 's', serverTime: 5 });
    expect(Object.hasOwn(helloFrame('p', 's', 5), 'stream')).toBe(false);
    expect(parseServerFrame({ t: 'hello', player: 'p', session: 's', serverTime: 5, stream: 'st-1' })).toEqual(helloFrame('p', 's', 5, 'st-1'));
    expect(parseServerFrame({ t: 'hello', player: 'p', session: 's', serverTime: 5 })).toEqual(helloFrame('p', 's', 5));
  });

  it('RESEND_WINDOW is 65,536 and the pattern is the player-id pattern', () => {
    expect(RESEND_WINDOW).toBe(65_536);
    expect(STREAM_PATTERN.source).toBe('^[A-Za-z0-9_.:-]{1,64}$');
  });
});

describe('stream and seq in the Kafka record', () => {
  const base: EventRecord = { v: 1, player: 'p', id: 'e', type: 'ping.only', recvAt: Date.now(), edge: 'edge-1', session: 'sess' };

  it('round-trip when both are present, and stay absent when neither is', () => {
    const withSeq = { ...base, stream: 'st-1', seq: 42 };
    expect(decodeRecord(encodeRecord(withSeq))).toEqual(withSeq);
    const plain = decodeRecord(encodeRecord(base));
    expect(plain).toEqual(base);
    expect(Object.hasOwn(plain, 'seq')).toBe(false);
  });

  it('a record with only one of them, or a bad one, does not decode', () => {
    const raw = (extra: Record<string, unknown>) => Buffer.from(encode({ ...base, ...extra }));
    expect(() => decodeRecord(raw({ stream: 'st' }))).toThrow(/both present or both absent/);
    expect(() => decodeRecord(raw({ seq: 1 }))).toThrow(/both present or both absent/);
    expect(() => decodeRecord(raw({ stream: 'bad stream', seq: 1 }))).toThrow(/field stream/);
    expect(() => decodeRecord(raw({ stream: 7, seq: 1 }))).toThrow(/field stream/);
    for (const seq of [0, 1.5, '1', -3]) expect(() => decodeRecord(raw({ stream: 'st', seq }))).toThrow(/field seq/);
    expect(decodeRecord(raw({ stream: 'st', seq: 1 }))).toMatchObject({ stream: 'st', seq: 1 });
  });
});
