import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../protocol/record.ts';
import { decodeValue, encodeValue, eventOps, readPath } from './extract.ts';
import { condition, propertySpec } from '../test/fixtures/processors.ts';
import { compilePlan } from './plan.ts';

const loss = condition('event.data.result == "loss"', (e) => e.data.result === 'loss');
const plan = compilePlan([
  propertySpec('matches', 'count', 'match.end'),
  propertySpec('loss_streak', 'streak', 'match.end', { when: loss }),
  propertySpec('losses_10m', 'count', 'match.end', { when: loss, windowMs: 600_000 }),
  propertySpec('coins', 'sum', 'shop.purchase', { field: 'data.coins' }),
  propertySpec('cheapest', 'min', 'shop.purchase', { field: 'data.coins' }),
  propertySpec('priciest', 'max', 'shop.purchase', { field: 'data.price', valueType: 'double' }),
  propertySpec('last_sku', 'last', 'shop.purchase', { field: 'data.sku', valueType: 'string' }),
  propertySpec('vip', 'last', 'profile', { field: 'data.vip', valueType: 'bool' }),
  propertySpec('level', 'last', 'level.up', { field: 'data.level' }),
]);

function record(type: string, data?: Record<string, unknown>): EventRecord {
  return { v: 1, player: 'p1', id: 'e1', type, data, recvAt: 1_700_000_000_000, edge: 'edge-1', session: 's1' };
}

describe('eventOps', () => {
  it('counts, extends the streak and counts in the window when `when` holds', () => {
    const r = eventOps(plan, record('match.end', { result: 'loss' }));
    expect(r.ops).toEqual([1, 1, 2, 1, 3, 1]);
    expect(r.fieldErrors).toBeNull();
  });

  it('resets the streak on a matching event that fails `when`, and skips filtered counts', () => {
    expect(eventOps(plan, record('match.end', { result: 'win' })).ops).toEqual([1, 1, 2, 0]);
  });

  it('extracts numbers for sum, min, max and strings for last', () => {
    const r = eventOps(plan, record('shop.purchase', { coins: 40, price: 1.99, sku: 'gem.pack' }));
    expect(r.ops).toEqual([4, 40, 5, 40, 6, 1.99, 7, 'gem.pack']);
  });

  it('encodes booleans for last as 1/0', () => {
    expect(eventOps(plan, record('profile', { vip: true })).ops).toEqual([8, '1']);
    expect(eventOps(plan, record('profile', { vip: false })).ops).toEqual([8, '0']);
  });

  it('updates nothing for a missing or null field, without an error', () => {
    const r = eventOps(plan, record('shop.purchase', { sku: null }));
    expect(r.ops).toEqual([]);
    expect(r.fieldErrors).toBeNull();
    expect(eventOps(plan, record('level.up')).ops).toEqual([]);
  });

  it('reports a field of the wrong type and skips only that property', () => {
    const r = eventOps(plan, record('shop.purchase', { coins: '40', price: 2, sku: 7 }));
    expect(r.ops).toEqual([6, 2]);
    expect(r.fieldErrors).toEqual([
      { property: 'coins', path: 'data.coins', expected: 'int', got: 'string "40"' },
      { property: 'cheapest', path: 'data.coins', expected: 'int', got: 'string "40"' },
      { property: 'last_sku', path: 'data.sku', expected: 'string', got: 'int 7' },
    ]);
  });

  it('refuses fractions for int fields, non-finite numbers, maps and lists', () => {
    const r = eventOps(plan, record('shop.purchase', { coins: 1.5, price: Number.POSITIVE_INFINITY, sku: ['a'] }));
    expect(r.ops).toEqual([]);
    expect(r.fieldErrors?.map((e) => e.got)).toEqual(['double 1.5', 'double 1.5', 'double Infinity', 'list']);
    expect(eventOps(plan, record('level.up', { level: { n: 1 } })).fieldErrors?.[0]?.got).toBe('map');
  });

  it('gives no ops for an event type no property reads', () => {
    expect(eventOps(plan, record('chat.message', { text: 'hi' }))).toEqual({ ops: [], fieldErrors: null, conditionErrors: null });
  });

  it('treats a condition that fails at run time as false and reports it', () => {
    const broken = condition('event.data.x.y == 1', (e) => (e.data.x as { y: number }).y === 1);
    const p = compilePlan([propertySpec('s', 'streak', 'a', { when: broken })]);
    const r = eventOps(p, record('a', {}));
    expect(r.ops).toEqual([1, 0]);
    expect(r.conditionErrors).toHaveLength(1);
    expect(r.conditionErrors?.[0]?.property).toBe('s');
  });

  it('hands the condition the event with ts falling back to the receive time', () => {
    const seen: unknown[] = [];
    const spy = condition('true', (e) => {
      seen.push(e);
      return true;
    });
    const p = compilePlan([propertySpec('c', 'count', 'a', { when: spy })]);
    eventOps(p, record('a', { k: 1 }));
    eventOps(p, { ...record('a'), ts: 5 });
    expect(seen).toEqual([
      { type: 'a', id: 'e1', ts: 1_700_000_000_000, data: { k: 1 } },
      { type: 'a', id: 'e1', ts: 5, data: {} },
    ]);
  });
});

describe('readPath', () => {
  it('walks own properties of plain objects only', () => {
    expect(readPath({ data: { a: 1 } }, ['data', 'a'])).toBe(1);
    expect(readPath({ data: { a: 1 } }, ['data', 'b'])).toBeUndefined();
    expect(readPath({ data: [1] }, ['data', '0'])).toBeUndefined();
    expect(readPath({ data: {} }, ['data', 'constructor'])).toBeUndefined();
    expect(readPath({ data: {} }, ['data', '__proto__'])).toBeUndefined();
  });
});

describe('encodeValue / decodeValue', () => {
  it('round-trips every scalar type', () => {
    expect(decodeValue(encodeValue(42, 'int', true) as string, 'int')).toBe(42);
    expect(decodeValue(encodeValue(0.1, 'double', true) as string, 'double')).toBe(0.1);
    expect(decodeValue(encodeValue('x y', 'string', true) as string, 'string')).toBe('x y');
    expect(decodeValue(encodeValue(true, 'bool', true) as string, 'bool')).toBe(true);
    expect(decodeValue(encodeValue(false, 'bool', true) as string, 'bool')).toBe(false);
  });

  it('takes only numbers for sum, min and max', () => {
    expect(encodeValue('x', 'string', false)).toBeNull();
    expect(encodeValue(true, 'bool', false)).toBeNull();
    expect(encodeValue(2 ** 53, 'int', false)).toBeNull();
  });
});
