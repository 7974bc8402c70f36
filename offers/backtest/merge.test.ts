import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mergeAll, type Positioned } from './merge.ts';

const rec = (partition: number, offset: number, recvAt: number): Positioned<string> => ({ partition, offset: String(offset), recvAt, item: `${partition}@${offset}` });

describe('mergeAll', () => {
  it('interleaves partitions by recvAt and keeps each partition in offset order', () => {
    const parts = new Map([
      [0, [rec(0, 0, 10), rec(0, 1, 30), rec(0, 2, 20)]],
      [1, [rec(1, 0, 15), rec(1, 1, 25)]],
    ]);
    expect(mergeAll(parts).map((r) => r.item)).toEqual(['0@0', '1@0', '1@1', '0@1', '0@2']);
  });

  it('breaks recvAt ties by partition', () => {
    const parts = new Map([
      [2, [rec(2, 0, 5)]],
      [1, [rec(1, 0, 5)]],
    ]);
    expect(mergeAll(parts).map((r) => r.item)).toEqual(['1@0', '2@0']);
  });

  it('gives the same sequence whatever order partitions are listed in, and loses nothing', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 20 }), { minLength: 1, maxLength: 5 }), (lists) => {
        const entries = lists.map((times, p) => [p, times.map((t, i) => rec(p, i, t))] as const);
        const a = mergeAll(new Map(entries));
        const b = mergeAll(new Map([...entries].reverse()));
        expect(b.map((r) => r.item)).toEqual(a.map((r) => r.item));
        expect(a.length).toBe(lists.reduce((n, l) => n + l.length, 0));
        for (const [p] of entries) {
          const offsets = a.filter((r) => r.partition === p).map((r) => Number(r.offset));
          expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
        }
      }),
    );
  });
});
