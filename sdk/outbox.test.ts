import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.ts';
import { Outbox } from './outbox.ts';

describe('Outbox', () => {
  it('keeps events until acked, resolves on ack, rejects on refusal, refuses past capacity', async () => {
    const box = new Outbox(2);
    const done: string[] = [];
    const add = (id: string) => box.add({ event: { id, type: 'x' }, resolve: () => done.push(`ok:${id}`), reject: (e) => done.push(`no:${id}:${e.message}`) });
    expect([add('a'), add('b'), add('c'), add('a')]).toEqual([true, true, false, true]);
    expect(box.events().map((e) => e.id)).toEqual(['a', 'b']);
    box.ack(['a', 'zzz']);
    box.reject('b', new Error('bad'));
    expect(done).toEqual(['ok:a', 'no:b:bad']);
    expect(box.size).toBe(0);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with jitter between half and all of the step', () => {
    const opts = { baseMs: 100, maxMs: 1_000 };
    expect(backoffDelay(0, opts, () => 0)).toBe(50);
    expect(backoffDelay(0, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 1)).toBe(800);
    expect(backoffDelay(30, opts, () => 1)).toBe(1_000);
    expect(backoffDelay(30, opts, () => 0)).toBe(500);
  });
});
