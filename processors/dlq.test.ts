import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { encodeRecord, type EventRecord } from '../protocol/record.ts';
import { deadLetterMessage, decodeMessage } from './dlq.ts';

const record: EventRecord = { v: 1, player: 'p-1', id: 'e1', type: 'match.end', data: { result: 'win' }, recvAt: 1, edge: 'e', session: 's' };

function message(key: string | null, value: Buffer | null): KafkaMessage {
  return { key: key === null ? null : Buffer.from(key), value, offset: '42', timestamp: '0', attributes: 0, headers: { 'pp-id': 'e1' } };
}

describe('decodeMessage', () => {
  it('accepts a record whose key is its valid player id', () => {
    expect(decodeMessage(message('p-1', encodeRecord(record)))).toEqual({ ok: true, record });
  });

  it('refuses undecodable values, bad player ids and mismatched keys, with reasons', () => {
    expect(decodeMessage(message('p-1', Buffer.from('junk')))).toMatchObject({ ok: false, reason: 'undecodable' });
    expect(decodeMessage(message('p-1', null))).toMatchObject({ ok: false, reason: 'undecodable', error: 'empty record value' });
    expect(decodeMessage(message('a}b', encodeRecord({ ...record, player: 'a}b' })))).toMatchObject({ ok: false, reason: 'bad_player' });
    expect(decodeMessage(message('x'.repeat(65), encodeRecord({ ...record, player: 'x'.repeat(65) })))).toMatchObject({ ok: false, reason: 'bad_player' });
    expect(decodeMessage(message('p-2', encodeRecord(record)))).toMatchObject({ ok: false, reason: 'key_mismatch' });
    expect(decodeMessage(message(null, encodeRecord(record)))).toMatchObject({ ok: false, reason: 'key_mismatch' });
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

  it('cuts long error messages to 1 KiB', () => {
    const out = deadLetterMessage({ topic: 't', partition: 0, message: message('p', null), reason: 'apply_failed', error: 'x'.repeat(5000) }, 0);
    expect(String(out.headers?.['pp-dlq-error'])).toHaveLength(1024);
  });
});
