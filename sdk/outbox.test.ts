import { describe, expect, it } from 'vitest';
import { RESEND_WINDOW } from '../protocol/limits.ts';
import { backoffDelay } from './backoff.ts';
import { Outbox } from './outbox.ts';

const noop = (): void => undefined;

describe('Outbox', () => {
  it('keeps events until acked, resolves on ack, rejects on refusal, refuses past capacity', async () => {
    const box = new Outbox({ capacity: 2 });
    const done: string[] = [];
    const add = (id: string) => box.add({ event: { id, type: 'x' }, resolve: () => done.push(`ok:${id}`), reject: (e) => done.push(`no:${id}:${e.message}`) });
    expect([add('a'), add('b'), add('c'), add('a')]).toEqual([true, true, false, true]);
    expect(box.events().map((e) => e.id)).toEqual(['a', 'b']);
    box.ack(['a', 'zzz']);
    box.reject('b', new Error('bad'));
    expect(done).toEqual(['ok:a', 'ok:a', 'no:b:bad']);
    expect(box.size).toBe(0);
  });

  it('gives each new event the next seq and keeps it when the same id is added again', () => {
    const box = new Outbox({ capacity: 10, nextSeq: 41 });
    for (const id of ['a', 'b', 'c']) box.add({ event: { id, type: 'x' }, resolve: noop, reject: noop });
    box.add({ event: { id: 'b', type: 'x', data: { again: true } }, resolve: noop, reject: noop });
    expect(box.events().map((e) => [e.id, e.seq])).toEqual([['a', 41], ['b', 42], ['c', 43]]);
    expect(box.get('b')).toEqual({ id: 'b', type: 'x', data: { again: true }, seq: 42 });
    box.ack(['a', 'b', 'c']);
    box.add({ event: { id: 'd', type: 'x' }, resolve: noop, reject: noop });
    expect(box.get('d')?.seq).toBe(44);
    expect(box.nextSeq).toBe(45);
  });

  it('clamps its capacity to RESEND_WINDOW', () => {
    const box = new Outbox({ capacity: 1_000_000 });
    expect(box.capacity).toBe(RESEND_WINDOW);
    let taken = 0;
    while (box.add({ event: { id: `e${taken}`, type: 'x' }, resolve: noop, reject: noop })) taken += 1;
    expect(taken).toBe(RESEND_WINDOW);
    expect(box.size).toBe(RESEND_WINDOW);
  });

  it('refuses an event that would leave the oldest unacked one outside the resend window', () => {
    const box = new Outbox({ capacity: RESEND_WINDOW });
    const add = (id: string) => box.add({ event: { id, type: 'x' }, resolve: noop, reject: noop });
    for (let i = 1; i <= RESEND_WINDOW; i++) add(`e${i}`);
    box.ack(Array.from({ length: RESEND_WINDOW - 1 }, (_, i) => `e${i + 2}`));
    expect(box.size).toBe(1);
    expect(box.get('e1')?.seq).toBe(1);
    // seq 65,537 would make the newest seq 65,537; seq 1 would then be 65,536 behind it.
    expect(add('late')).toBe(false);
    expect(box.nextSeq).toBe(RESEND_WINDOW + 1);
    box.ack(['e1']);
    expect(add('late')).toBe(true);
    expect(box.get('late')?.seq).toBe(RESEND_WINDOW + 1);
  });

  it('refuses a bad capacity or nextSeq, and stops when the stream used every seq', () => {
    expect(() => new Outbox({ capacity: 0 })).toThrow(/capacity/);
    expect(() => new Outbox({ capacity: 5, nextSeq: 0 })).toThrow(/nextSeq/);
    expect(() => new Outbox({ capacity: 5, nextSeq: 2 ** 53 })).toThrow(/nextSeq/);
    const box = new Outbox({ capacity: 5, nextSeq: Number.MAX_SAFE_INTEGER });
    expect(box.add({ event: { id: 'last', type: 'x' }, resolve: noop, reject: noop })).toBe(true);
    expect(box.get('last')?.seq).toBe(Number.MAX_SAFE_INTEGER);
    expect(box.add({ event: { id: 'beyond', type: 'x' }, resolve: noop, reject: noop })).toBe(false);
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
