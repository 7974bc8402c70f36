import { describe, expect, it } from 'vitest';
import type { FollowUpJob } from '../jobs/queues.ts';
import { FollowUps } from './run.ts';

const job = (offerId: string, dueAt: number): FollowUpJob => ({
  playerId: 'p',
  offerId,
  ruleId: 'r',
  followUpRule: 'f',
  unless: 'offer.purchased',
  dueAt,
  event: { id: 'e', type: 't', ts: 0, data: {} },
});

describe('FollowUps (the backtest follow-up schedule)', () => {
  it('hands out follow-ups due at or before a time, by due time then offer id, each offer once', () => {
    const f = new FollowUps();
    expect(f.nextDue()).toBe(Infinity);
    f.add(job('b', 20));
    f.add(job('c', 10));
    f.add(job('a', 20));
    f.add(job('c', 5)); // the same offer again (a redelivered decision): ignored
    expect(f.nextDue()).toBe(10);
    expect(f.takeDue(9)).toBeNull();
    const taken: string[] = [];
    for (let j = f.takeDue(20); j; j = f.takeDue(20)) taken.push(j.offerId);
    expect(taken).toEqual(['c', 'a', 'b']);
    expect(f.nextDue()).toBe(Infinity);
  });
});
