/**
 * The Kafka record versions (protocol/record.ts): version 2 holds one client frame, version
 * 1 one event; readers get the same events from either, and event positions keep partition
 * order exactly.
 */
import { describe, expect, it } from 'vitest';
import { MAX_BATCH_EVENTS } from '../../protocol/limits.ts';
import {
  decodeRecord,
  decodeRecords,
  encodeFrameRecord,
  encodeRecord,
  eventPosition,
  frameRecordHeaders,
  RECORD_EVENTS_MAX,
  RECORD_VERSION,
  type EventRecord,
  type FrameRecord,
} from '../../protocol/record.ts';

const frame: FrameRecord = {
  v: 2,
  player: 'p-1',
  recvAt: 1_700_000_000_123,
  edge: 'edge-1',
  session: 'sess-1',
  stream: 'app-1',
  events: [
    { id: 'a', type: 'match.end', ts: 5, data: { result: 'win' }, seq: 10 },
    { id: 'b', type: 'match.end' },
    { id: 'c', type: 'level.up', data: { level: 3 }, seq: 11 },
  ],
};

describe('version-2 records', () => {
  it('the edge writes version 2, and a frame of the largest size fits one record', () => {
    expect(RECORD_VERSION).toBe(2);
    expect(RECORD_EVENTS_MAX).toBeGreaterThanOrEqual(MAX_BATCH_EVENTS);
  });

  it('read as the events of the frame, in order, each with the shared fields; seq only with the stream', () => {
    const events = decodeRecords(encodeFrameRecord(frame));
    expect(events).toEqual([
      { v: 2, player: 'p-1', id: 'a', type: 'match.end', ts: 5, data: { result: 'win' }, recvAt: frame.recvAt, edge: 'edge-1', session: 'sess-1', stream: 'app-1', seq: 10 },
      { v: 2, player: 'p-1', id: 'b', type: 'match.end', recvAt: frame.recvAt, edge: 'edge-1', session: 'sess-1' },
      { v: 2, player: 'p-1', id: 'c', type: 'level.up', data: { level: 3 }, recvAt: frame.recvAt, edge: 'edge-1', session: 'sess-1', stream: 'app-1', seq: 11 },
    ]);
    expect(Object.hasOwn(events[1] as EventRecord, 'stream')).toBe(false);
  });

  it('version 1 is still read, as one event; decodeRecord wants exactly one', () => {
    const one: EventRecord = { v: 1, player: 'p-1', id: 'x', type: 'match.end', recvAt: 1, edge: 'e', session: 's', stream: 'st', seq: 2 };
    expect(decodeRecords(encodeRecord(one))).toEqual([one]);
    expect(decodeRecord(encodeRecord(one))).toEqual(one);
    expect(decodeRecord(encodeFrameRecord({ ...frame, events: [{ id: 'a', type: 'match.end' }] }))).toMatchObject({ v: 2, id: 'a' });
    expect(() => decodeRecord(encodeFrameRecord(frame))).toThrow(/holds 3 events, expected one/);
  });

  it('refuses a record with too many events, a bad event, or an event with seq and no stream', () => {
    const many = Array.from({ length: RECORD_EVENTS_MAX + 1 }, (_, i) => ({ id: `e${i}`, type: 'match.end' }));
    expect(() => decodeRecords(encodeFrameRecord({ ...frame, events: many }))).toThrow(/1..1024 events/);
    expect(() => decodeRecords(encodeFrameRecord({ ...frame, events: [{ id: '', type: 'match.end' }] }))).toThrow(/record event 0 field id/);
    expect(() => decodeRecords(encodeFrameRecord({ ...frame, events: [{ id: 'a', type: 'match.end' }, { id: 'b', type: 'match.end', seq: 0 }] }))).toThrow(/record event 1 field seq/);
    const { stream: _omit, ...noStream } = frame;
    expect(() => decodeRecords(encodeFrameRecord(noStream as FrameRecord))).toThrow(/has seq but the record has no stream/);
    expect(() => decodeRecords(encodeFrameRecord({ ...frame, recvAt: Number.NaN }))).toThrow(/recvAt/);
  });

  it('carry pp-type only when every event of the record has the same type', () => {
    expect(frameRecordHeaders(frame.events)).toEqual({});
    expect(frameRecordHeaders([{ id: 'a', type: 'match.end' }, { id: 'b', type: 'match.end' }])).toEqual({ 'pp-type': 'match.end' });
  });
});

describe('eventPosition', () => {
  it('is the offset for the first event, and strictly between offsets for the rest, exactly', () => {
    expect(eventPosition('41', 0)).toBe('41');
    expect(eventPosition('41', 1)).toBe('41.0009765625');
    expect(Number(eventPosition('41', 512))).toBe(41.5);
    const offsets = ['0', '7', '123456789', String(2 ** 42)];
    for (const offset of offsets) {
      let last = Number(offset) - 1;
      for (let i = 0; i < RECORD_EVENTS_MAX; i++) {
        const p = Number(eventPosition(offset, i));
        expect(p).toBeGreaterThan(last);
        expect(p).toBeLessThan(Number(offset) + 1);
        expect(p).toBe(Number(offset) + i / RECORD_EVENTS_MAX);
        last = p;
      }
    }
  });
});
