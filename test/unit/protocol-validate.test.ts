/** protocol/validate-event.ts and client-frames.ts against hand-built taxonomies. */
import { describe, expect, it } from 'vitest';
import type { EventSpec, FieldSpec, ValueType } from '../../designer/types.ts';
import { evFrame, evsFrame, parseClientFrame, pingFrame } from '../../protocol/client-frames.ts';
import { MAX_BATCH_EVENTS, MAX_DATA_BYTES } from '../../protocol/limits.ts';
import { validateEvent } from '../../protocol/validate-event.ts';

const field = (name: string, type: ValueType, required = false, values: string[] | null = null): FieldSpec => ({ name, type, required, enum: values });
const spec = (type: string, fields: FieldSpec[]): EventSpec => ({ type, builtin: false, fields: new Map(fields.map((f) => [f.name, f])) });

const taxonomy = new Map<string, EventSpec>(
  [
    spec('match.end', [field('result', 'string', true, ['win', 'loss', 'draw']), field('duration_s', 'int')]),
    spec('stats', [field('score', 'double'), field('flag', 'bool'), field('tags', 'list'), field('meta', 'map'), field('at', 'timestamp')]),
    spec('ping.only', []),
  ].map((s) => [s.type, s]),
);

const check = (raw: unknown) => validateEvent(raw, taxonomy);
const message = (raw: unknown) => {
  const r = check(raw);
  return r.ok ? null : r.message;
};

describe('validateEvent', () => {
  it('accepts a declared event and keeps only id, type, ts and data', () => {
    expect(check({ t: 'ev', id: 'e1', type: 'match.end', ts: 5, data: { result: 'win', extra: 'kept' }, player: 'someone' })).toEqual({
      ok: true,
      event: { id: 'e1', type: 'match.end', ts: 5, data: { result: 'win', extra: 'kept' } },
    });
    expect(check({ id: 'e2', type: 'ping.only', ts: null, data: null })).toEqual({ ok: true, event: { id: 'e2', type: 'ping.only' } });
  });

  it('checks id and type shape', () => {
    expect(check({ type: 'match.end' })).toEqual({ ok: false, message: expect.stringMatching(/`id`/) });
    expect(check({ id: '', type: 'ping.only' }).ok).toBe(false);
    expect(check({ id: 'x'.repeat(65), type: 'ping.only' }).ok).toBe(false);
    expect(check({ id: 'x'.repeat(64), type: 'ping.only' }).ok).toBe(true);
    expect(check({ id: 'e', type: 'Match.End' })).toEqual({ ok: false, id: 'e', message: expect.stringMatching(/\[a-z0-9_.\]/) });
    expect(message({ id: 'e', type: 'never.declared' })).toMatch(/unknown event type/);
    expect(message('not a map')).toMatch(/must be a map/);
  });

  it('checks ts', () => {
    for (const ts of [-1, 1.5, '5', Number.NaN, 2 ** 60]) expect(message({ id: 'e', type: 'ping.only', ts })).toMatch(/`ts`/);
  });

  it('checks declared fields: required, enum, every type', () => {
    expect(message({ id: 'e', type: 'match.end' })).toMatch(/data.result is required/);
    expect(message({ id: 'e', type: 'match.end', data: { result: 'surrender' } })).toMatch(/one of win, loss, draw/);
    expect(message({ id: 'e', type: 'match.end', data: { result: 'win', duration_s: 1.5 } })).toMatch(/duration_s: expected an integer/);
    expect(message({ id: 'e', type: 'stats', data: { score: 'high' } })).toMatch(/score: expected a (finite )?number/);
    expect(message({ id: 'e', type: 'stats', data: { flag: 1 } })).toMatch(/flag: expected true or false/);
    expect(message({ id: 'e', type: 'stats', data: { tags: {} } })).toMatch(/tags: expected a list/);
    expect(message({ id: 'e', type: 'stats', data: { meta: [] } })).toMatch(/meta: expected a map/);
    expect(message({ id: 'e', type: 'stats', data: { at: 'yesterday' } })).toMatch(/at: expected an integer timestamp/);
    expect(check({ id: 'e', type: 'stats', data: { score: 3, flag: false, tags: [1], meta: { a: 1 }, at: 5, other: 'x' } }).ok).toBe(true);
    expect(message({ id: 'e', type: 'stats', data: [] })).toMatch(/`data` must be a map/);
  });

  it('refuses unsafe numbers anywhere in data and data over 16 KiB', () => {
    expect(message({ id: 'e', type: 'stats', data: { deep: [{ x: 2n ** 60n }] } })).toMatch(/data.deep\[0\].x: integer beyond/);
    expect(message({ id: 'e', type: 'stats', data: { score: Number.POSITIVE_INFINITY } })).toMatch(/not a finite number/);
    expect(message({ id: 'e', type: 'stats', data: { blob: 'x'.repeat(MAX_DATA_BYTES) } })).toMatch(/at most 16384/);
    expect(check({ id: 'e', type: 'stats', data: { blob: 'x'.repeat(MAX_DATA_BYTES - 20) } }).ok).toBe(true);
  });
});

describe('parseClientFrame', () => {
  it('sorts ev, evs and ping', () => {
    expect(parseClientFrame(evFrame({ id: 'a', type: 'x' }))).toEqual({ ok: true, frame: { t: 'ev', events: [{ t: 'ev', id: 'a', type: 'x' }] } });
    expect(parseClientFrame(evsFrame([{ id: 'a', type: 'x' }]))).toEqual({ ok: true, frame: { t: 'evs', events: [{ id: 'a', type: 'x' }] } });
    expect(parseClientFrame(pingFrame(3))).toEqual({ ok: true, frame: { t: 'ping', n: 3, hasN: true } });
    expect(parseClientFrame(pingFrame())).toEqual({ ok: true, frame: { t: 'ping', n: undefined, hasN: false } });
  });

  it('refuses unknown or missing t and malformed batches as bad_frame', () => {
    expect(parseClientFrame({})).toEqual({ ok: false, message: expect.stringMatching(/string field `t`/) });
    expect(parseClientFrame({ t: 'hello' })).toEqual({ ok: false, message: expect.stringMatching(/unknown frame type/) });
    expect(parseClientFrame({ t: 'evs' }).ok).toBe(false);
    expect(parseClientFrame({ t: 'evs', events: [] }).ok).toBe(false);
    const events = Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => ({ id: `${i}`, type: 'x' }));
    expect(parseClientFrame({ t: 'evs', events })).toEqual({ ok: false, message: expect.stringMatching(/501 events; at most 500/) });
    expect(parseClientFrame({ t: 'evs', events: events.slice(1) }).ok).toBe(true);
  });
});
