import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { condition, propertySpec } from '../test/fixtures/processors.ts';
import { compilePlan, compilePropertyPlan } from './plan.ts';

const loss = condition('event.data.result == "loss"', (e) => e.data.result === 'loss');

describe('compilePlan', () => {
  const plan = compilePlan(
    [
      propertySpec('matches', 'count', 'match.end'),
      propertySpec('loss_streak', 'streak', 'match.end', { when: loss }),
      propertySpec('losses_10m', 'count', 'match.end', { when: loss, windowMs: 600_000 }),
      propertySpec('coins_7d', 'sum', 'shop.purchase', { field: 'data.coins', windowMs: 7 * 86_400_000 }),
      propertySpec('level', 'last', 'level.up', { field: 'data.level' }),
      propertySpec('best', 'max', 'match.end', { field: 'data.score', valueType: 'double' }),
    ],
    'hash-1',
  );

  it('indexes properties from 1 in declaration order, with kind codes', () => {
    expect(plan.properties.map((p) => [p.index, p.spec.name, p.code])).toEqual([
      [1, 'matches', 'c'],
      [2, 'loss_streak', 'k'],
      [3, 'losses_10m', 'C'],
      [4, 'coins_7d', 'S'],
      [5, 'level', 'l'],
      [6, 'best', 'x'],
    ]);
    expect(plan.bundleHash).toBe('hash-1');
  });

  it('groups properties by event type in declaration order', () => {
    expect(plan.byEvent.get('match.end')?.map((p) => p.spec.name)).toEqual(['matches', 'loss_streak', 'losses_10m', 'best']);
    expect(plan.byEvent.get('shop.purchase')?.map((p) => p.spec.name)).toEqual(['coins_7d']);
    expect(plan.byEvent.get('nothing')).toBeUndefined();
  });

  it('names storage by name and kind, plus window geometry for windowed ones', () => {
    expect(plan.properties.map((p) => p.storageField)).toEqual([
      'p:matches:count',
      'p:loss_streak:streak',
      'w:losses_10m:count:10000x60',
      'w:coins_7d:sum:10080000x60',
      'p:level:last',
      'p:best:max',
    ]);
  });

  it('encodes the property section of the script ARGV as MessagePack', () => {
    const flat = unpack(plan.propertyBlob) as unknown[];
    expect(flat.slice(0, 8)).toEqual(['c', 'p:matches:count', 0, 0, 'k', 'p:loss_streak:streak', 0, 0]);
    expect(flat.slice(8, 12)).toEqual(['C', 'w:losses_10m:count:10000x60', 10_000, 60]);
    expect(flat).toHaveLength(6 * 4);
  });

  it('knows initial values and field types', () => {
    expect(plan.properties.map((p) => p.initial)).toEqual([0, 0, 0, 0, null, null]);
    expect(plan.properties.map((p) => p.fieldType)).toEqual([null, null, null, 'int', 'int', 'double']);
  });

  it('refuses a window on a kind that has none, and a value kind without a field', () => {
    expect(() => compilePropertyPlan(propertySpec('x', 'last', 'e', { field: 'data.a', windowMs: 1000 }), 1)).toThrow(/window/);
    expect(() => compilePropertyPlan(propertySpec('x', 'sum', 'e'), 1)).toThrow(/field/);
  });

  it('gives a changed kind or window a new storage field, and a changed event or condition the same', () => {
    const a = compilePropertyPlan(propertySpec('n', 'count', 'a', { windowMs: 60_000 }), 1);
    const b = compilePropertyPlan(propertySpec('n', 'count', 'b', { when: loss, windowMs: 60_000 }), 1);
    const c = compilePropertyPlan(propertySpec('n', 'count', 'a', { windowMs: 120_000 }), 1);
    expect(b.storageField).toBe(a.storageField);
    expect(c.storageField).not.toBe(a.storageField);
  });
});
