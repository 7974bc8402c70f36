import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { encodeFrameRecord, encodeRecord, type EventRecord, type FrameRecord } from '../protocol/record.ts';
import { MAX_FUTURE_RECV_AT_MS } from '../protocol/limits.ts';
import { deadLetterMessage, decodeMessage } from './dlq.ts';

const record: EventRecord = { v: 1, player: 'p-1', id: 'e1', type: 'match.end', data: { result: 'win' }, recvAt: 1, edge: 'e', session: 's' };

function message(key: string | null, value: Buffer | null): KafkaMessage {
  return { key: key === null ? null : Buffer.from(key), value, offset: '42', timestamp: '0', attributes: 0, headers: { 'pp-id': 'e1' } };
}

const NOW = Date.now();
const decode = (m: KafkaMessage) => decodeMessage(m, NOW);

describe('decodeMessage', () => {
  it('accepts a record whose key is its valid player id', () => {
    expect(decode(message('p-1', encodeRecord(record)))).toEqual({ ok: true, records: [record] });
  });

  it('accepts a version-2 record: its events in order, sharing the player, edge, session and recvAt', () => {
    const frame: FrameRecord = { v: 2, player: 'p-1', recvAt: 7, edge: 'e', session: 's', stream: 'app', events: [{ id: 'a', type: 'match.end', seq: 4 }, { id: 'b', type: 'level.up', data: { level: 2 } }] };
    expect(decode(message('p-1', encodeFrameRecord(frame)))).toEqual({
      ok: true,
      records: [
        { v: 2, player: 'p-1', id: 'a', type: 'match.end', recvAt: 7, edge: 'e', session: 's', stream: 'app', seq: 4 },
        { v: 2, player: 'p-1', id: 'b', type: 'level.up', data: { level: 2 }, recvAt: 7, edge: 'e', session: 's' },
      ],
    });
    expect(decode(message('p-2', encodeFrameRecord(frame)))).toMatchObject({ ok: false, reason: 'key_mismatch' });
    expect(decode(message('p-1', encodeFrameRecord({ ...frame, events: [] })))).toMatchObject({ ok: false, reason: 'undecodable', error: 'record field events is not a list of 1..1024 events' });
    const { stream: _stream, ...unstreamed } = frame;
    expect(decode(message('p-1', encodeFrameRecord(unstreamed as FrameRecord)))).toMatchObject({ ok: false, reason: 'undecodable', error: 'record event 0 has seq but the record has no stream' });
  });

  it('refuses undecodable values, bad player ids and mismatched keys, with reasons', () => {
    expect(decode(message('p-1', Buffer.from('junk')))).toMatchObject({ ok: false, reason: 'undecodable' });
    expect(decode(message('p-1', null))).toMatchObject({ ok: false, reason: 'undecodable', error: 'empty record value' });
    expect(decode(message('a}b', encodeRecord({ ...record, player: 'a}b' })))).toMatchObject({ ok: false, reason: 'bad_player' });
    expect(decode(message('x'.repeat(65), encodeRecord({ ...record, player: 'x'.repeat(65) })))).toMatchObject({ ok: false, reason: 'bad_player' });
    expect(decode(message('p-2', encodeRecord(record)))).toMatchObject({ ok: false, reason: 'key_mismatch' });
    expect(decode(message(null, encodeRecord(record)))).toMatchObject({ ok: false, reason: 'key_mismatch' });
  });

  it('refuses a record with a __proto__, constructor or prototype key at any depth, saying which rule it broke', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const top = encodeRecord(withOwnKey({ ...record }, key, { polluted: true }) as unknown as EventRecord);
      const nested = encodeRecord({ ...record, data: { result: 'win', deep: [withOwnKey({}, key, 1)] } });
      for (const value of [top, nested]) {
        expect(decode(message('p-1', value))).toEqual({ ok: false, reason: 'undecodable', error: 'record value refused: map key is not allowed (__proto__, constructor, prototype)' });
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses extension types and binary where a map is expected', () => {
    const withExt = Buffer.from([0x81, 0xa1, 0x78, 0xd4, 0x00, 0x00]);
    expect(decode(message('p-1', withExt))).toMatchObject({ ok: false, reason: 'undecodable', error: expect.stringContaining('extension') });
    expect(decode(message('p-1', Buffer.from([0xc4, 0x01, 0x00])))).toMatchObject({ ok: false, reason: 'undecodable', error: 'record value is not a map' });
  });

  it('names a wrong version without calling into it (found by fuzzing: a map with a toString key made the decoder throw a TypeError)', () => {
    const value = encodeRecord({ ...record, v: { toString: [] } } as unknown as EventRecord);
    expect(decode(message('p-1', value))).toEqual({ ok: false, reason: 'undecodable', error: 'unsupported record version object' });
    expect(decode(message('p-1', encodeRecord({ ...record, v: 3 })))).toEqual({ ok: false, reason: 'undecodable', error: 'unsupported record version 3' });
    expect(decode(message('p-1', encodeRecord({ ...record, v: 2 })))).toEqual({ ok: false, reason: 'undecodable', error: 'record field events is not a list of 1..1024 events' });
  });

  it('round-trips a record whose optional fields are set to undefined (they are omitted, not written as an extension)', () => {
    const loose = { ...record, ts: undefined, stream: undefined, seq: undefined };
    expect(decode(message('p-1', encodeRecord(loose)))).toEqual({ ok: true, records: [record] });
  });
});

/** `obj` with an own enumerable property `key` (even `__proto__`), as a hostile producer would encode it. */
function withOwnKey(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  return obj;
}

describe('decodeMessage: trusted time', () => {
  const at = (recvAt: number) => decode(message('p-1', encodeRecord({ ...record, recvAt })));

  it('applies a recvAt further ahead than the skew bound at the processing time, and says what it was', () => {
    const yearAhead = NOW + 365 * 86_400_000;
    expect(at(yearAhead)).toEqual({ ok: true, records: [{ ...record, recvAt: NOW }], futureRecvAt: yearAhead });
    expect(at(NOW + MAX_FUTURE_RECV_AT_MS + 1)).toEqual({ ok: true, records: [{ ...record, recvAt: NOW }], futureRecvAt: NOW + MAX_FUTURE_RECV_AT_MS + 1 });
  });

  it('keeps a recvAt within the bound ahead, and any recvAt in the past (lag and replays are legitimate)', () => {
    for (const recvAt of [NOW + MAX_FUTURE_RECV_AT_MS, NOW + 1_000, NOW, NOW - 365 * 86_400_000, 0]) {
      expect(at(recvAt)).toEqual({ ok: true, records: [{ ...record, recvAt }] });
    }
  });
});

describe('deadLetterMessage', () => {
  it('keeps key, value and headers and adds where and why', () => {
    const m = message('p-1', Buffer.from('junk'));
    const out = deadLetterMessage({ topic: 'player-events', partition: 3, message: m, reason: 'undecodable', error: 'bad' }, 1234);
    expect(out.key).toBe(m.key);
    expect(out.value).toBe(m.value);
    expect(out.headers).toEqual({
      'pp-id': 'e1',
      'pp-dlq-reason': 'undecodable',
      'pp-dlq-error': 'bad',
      'pp-dlq-topic': 'player-events',
      'pp-dlq-partition': '3',
      'pp-dlq-offset': '42',
      'pp-dlq-at': '1234',
    });
  });

  it('names the one failed event of a record that holds several', () => {
    const out = deadLetterMessage({ topic: 't', partition: 0, message: message('p-1', Buffer.from('x')), reason: 'decide_failed', error: 'boom', event: 'e7' }, 0);
    expect(out.headers?.['pp-dlq-event']).toBe('e7');
    expect(deadLetterMessage({ topic: 't', partition: 0, message: message('p-1', null), reason: 'undecodable', error: 'bad' }, 0).headers).not.toHaveProperty('pp-dlq-event');
  });

  it('cuts long error messages to 1 KiB', () => {
    const out = deadLetterMessage({ topic: 't', partition: 0, message: message('p', null), reason: 'apply_failed', error: 'x'.repeat(5000) }, 0);
    expect(String(out.headers?.['pp-dlq-error'])).toHaveLength(1024);
  });
});
