import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DecideCoalescer } from './coalesce.ts';
import type { AppliedEvent } from './decider-seam.ts';

/** Stand-ins for applied events: the coalescer only passes them on, in order. */
const events = (partition: number, n: number): AppliedEvent[] => Array.from({ length: n }, (_, i) => ({ partition, offset: String(i) }) as unknown as AppliedEvent);
const where = (batch: readonly AppliedEvent[]) => batch.map((e) => `${e.partition}:${e.offset}`);

describe('DecideCoalescer', () => {
  it('decides the calls of one turn in one call, in the order they came', async () => {
    const calls: string[][] = [];
    const c = new DecideCoalescer(async (batch) => void calls.push(where(batch)), 100);
    await Promise.all([c.decide(events(0, 2)), c.decide(events(3, 1)), c.decide(events(1, 2))]);
    expect(calls).toEqual([['0:0', '0:1', '3:0', '1:0', '1:1']]);
  });

  it('decides calls of different turns apart', async () => {
    const calls: string[][] = [];
    const c = new DecideCoalescer(async (batch) => void calls.push(where(batch)), 100);
    await c.decide(events(0, 1));
    await nextTurn();
    await c.decide(events(1, 1));
    expect(calls).toEqual([['0:0'], ['1:0']]);
  });

  it('rejects every caller of a failed group with its error, and takes new calls after it', async () => {
    let fail = true;
    const calls: number[] = [];
    const c = new DecideCoalescer(async (batch) => {
      calls.push(batch.length);
      if (fail) throw new Error('poison in partition 2');
    }, 100);
    const results = await Promise.allSettled([c.decide(events(1, 1)), c.decide(events(2, 3))]);
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['Error: poison in partition 2', 'Error: poison in partition 2']);
    fail = false;
    await expect(c.decide(events(1, 1))).resolves.toBeUndefined();
    expect(calls).toEqual([4, 1]);
  });

  it('rejects when the decider throws before returning a promise', async () => {
    const c = new DecideCoalescer(() => {
      throw new Error('bundle missing');
    }, 100);
    await expect(c.decide(events(0, 1))).rejects.toThrow('bundle missing');
  });

  it('decides a chunk of the limit or more alone, at once, and a group reaching the limit without waiting for the turn', async () => {
    const calls: string[][] = [];
    const c = new DecideCoalescer(async (batch) => void calls.push(where(batch)), 4);
    const small = c.decide(events(0, 1));
    const large = c.decide(events(1, 4));
    // The large chunk did not wait for the turn; the small one did.
    expect(calls).toEqual([['1:0', '1:1', '1:2', '1:3']]);
    const filling = c.decide(events(2, 3));
    // 1 + 3 events reached the limit: decided now, not at the turn.
    expect(calls).toHaveLength(2);
    expect(calls[1]).toEqual(['0:0', '2:0', '2:1', '2:2']);
    const late = c.decide(events(3, 1));
    await Promise.all([small, large, filling, late]);
    expect(calls).toEqual([['1:0', '1:1', '1:2', '1:3'], ['0:0', '2:0', '2:1', '2:2'], ['3:0']]);
  });
});
