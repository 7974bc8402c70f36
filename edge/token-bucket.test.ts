import { describe, expect, it } from 'vitest';
import { BoundedSet } from './bounded-set.ts';
import { AbuseMeter, TokenBucket } from './token-bucket.ts';

describe('TokenBucket', () => {
  it('allows the burst, then the rate', () => {
    const b = new TokenBucket(10, 5, 0);
    expect(b.take(5, 0)).toBe(true);
    expect(b.take(1, 0)).toBe(false);
    expect(b.take(1, 100)).toBe(true);
    expect(b.take(1, 100)).toBe(false);
    expect(b.take(5, 10_000)).toBe(true);
    expect(b.take(6, 20_000)).toBe(false);
  });
});

describe('AbuseMeter', () => {
  it('trips after more than `limit` strikes within the window, forgets older ones', () => {
    const m = new AbuseMeter(2, 1_000);
    expect(m.strike(0)).toBe(false);
    expect(m.strike(10)).toBe(false);
    expect(m.strike(20)).toBe(true);
    const n = new AbuseMeter(2, 1_000);
    expect([n.strike(0), n.strike(600), n.strike(1_200), n.strike(1_300)]).toEqual([false, false, false, true]);
  });
});

describe('BoundedSet', () => {
  it('forgets the oldest past capacity', () => {
    const s = new BoundedSet(2);
    s.add('a');
    s.add('b');
    s.add('a');
    s.add('c');
    expect([s.has('a'), s.has('b'), s.has('c'), s.size]).toEqual([false, true, true, 2]);
  });
});
