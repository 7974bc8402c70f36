import { describe, expect, it } from 'vitest';
import {
  InvariantViolation,
  assertAppliedOnce,
  assertAtMostOneOfferPerTrigger,
  assertBudgetNotExceeded,
  assertCommittedEqualsApplied,
  assertDeliveredOnce,
  assertNoLostAcks,
  type OfferSeen,
  type StateValue,
  type TopicRecord,
} from '../integrity/checks.ts';
import type { EventRecord } from '../../protocol/record.ts';

type States = Map<string, Record<string, StateValue>>;

function rec(player: string, id: string, offset: number, over: Partial<TopicRecord> = {}, type = 'match.end'): TopicRecord {
  const record: EventRecord = { v: 1, player, id, type, recvAt: 1, edge: 'e1', session: 's1' };
  return { partition: 0, offset: String(offset), key: player, record, decodeError: null, ...over };
}

function violation(fn: () => unknown): InvariantViolation {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvariantViolation);
    return err as InvariantViolation;
  }
  throw new Error('expected an InvariantViolation, the check passed');
}

describe('assertNoLostAcks', () => {
  const topic = [rec('a', 'e1', 0), rec('a', 'e2', 1), rec('b', 'e1', 2), rec('a', 'e2', 3)];

  it('passes when every acked event is stored under its player, duplicates allowed', () => {
    const r = assertNoLostAcks([{ player: 'a', id: 'e1' }, { player: 'a', id: 'e2' }, { player: 'b', id: 'e1', type: 'match.end' }], topic);
    expect(r).toEqual({ acked: 3, found: 3, recordsInTopic: 4 });
  });

  it('fails when an acked event is missing', () => {
    const v = violation(() => assertNoLostAcks([{ player: 'a', id: 'e1' }, { player: 'b', id: 'e9' }], topic));
    expect(v.invariant).toBe('no-lost-acks');
    expect(v.count).toBe(1);
    expect(v.samples).toEqual([{ player: 'b', id: 'e9' }]);
  });

  it('fails when the event is stored under another player than the token named', () => {
    const v = violation(() => assertNoLostAcks([{ player: 'b', id: 'e2' }], topic));
    expect(v.samples).toEqual([{ player: 'b', id: 'e2' }]);
  });

  it('fails when a record is keyed by another player than its own', () => {
    const v = violation(() => assertNoLostAcks([{ player: 'a', id: 'e1' }], [rec('a', 'e1', 0, { key: 'b' })]));
    expect(v.message).toMatch(/Kafka key/);
  });

  it('fails when the stored type differs from the sent one', () => {
    const v = violation(() => assertNoLostAcks([{ player: 'a', id: 'e1', type: 'level.up' }], topic));
    expect(v.message).toMatch(/another type/);
  });

  it('does not count undecodable records as stored', () => {
    const poison: TopicRecord = { partition: 0, offset: '0', key: 'a', record: null, decodeError: 'bad' };
    const v = violation(() => assertNoLostAcks([{ player: 'a', id: 'e1' }], [poison]));
    expect(v.count).toBe(1);
  });
});

describe('assertAppliedOnce', () => {
  const expected: States = new Map<string, Record<string, StateValue>>([
    ['a', { events_total: 3, matches_played: 2, level: 'x' }],
    ['b', { events_total: 1 }],
  ]);

  it('passes on exact counters, comparing numbers stored as strings by value', () => {
    const actual: States = new Map<string, Record<string, StateValue>>([
      ['a', { events_total: '3', matches_played: 2, level: 'x', last_seen: 123 }],
      ['b', { events_total: 1 }],
    ]);
    expect(assertAppliedOnce(expected, actual)).toEqual({ players: 2, fields: 4 });
  });

  it('fails on a counter applied twice', () => {
    const actual: States = new Map<string, Record<string, StateValue>>([
      ['a', { events_total: 4, matches_played: 2, level: 'x' }],
      ['b', { events_total: 1 }],
    ]);
    const v = violation(() => assertAppliedOnce(expected, actual));
    expect(v.invariant).toBe('applied-once');
    expect(v.samples).toEqual([{ player: 'a', field: 'events_total', expected: 3, actual: 4 }]);
  });

  it('fails on a lost application and on a missing player', () => {
    const actual: States = new Map<string, Record<string, StateValue>>([['a', { events_total: 2, matches_played: 2, level: 'x' }]]);
    const v = violation(() => assertAppliedOnce(expected, actual));
    expect(v.count).toBe(2);
  });

  it('fails on state under a player nobody sent as', () => {
    const actual: States = new Map<string, Record<string, StateValue>>([
      ['a', { events_total: 3, matches_played: 2, level: 'x' }],
      ['b', { events_total: 1 }],
      ['mallory', { events_total: 1 }],
    ]);
    const v = violation(() => assertAppliedOnce(expected, actual));
    expect(v.samples).toEqual(['mallory']);
  });
});

describe('assertAtMostOneOfferPerTrigger', () => {
  const base: OfferSeen[] = [
    { player: 'a', offerId: 'o1', ruleId: 'r1', triggerEventId: 'e1' },
    { player: 'a', offerId: 'o2', ruleId: 'r1', triggerEventId: 'e2' },
    { player: 'b', offerId: 'o1', ruleId: 'r1', triggerEventId: 'e1' },
  ];

  it('passes on distinct offers for distinct triggers', () => {
    expect(assertAtMostOneOfferPerTrigger(base)).toEqual({ offers: 3, triggers: 3 });
  });

  it('fails when one offer id is recorded twice', () => {
    const v = violation(() => assertAtMostOneOfferPerTrigger([...base, { player: 'a', offerId: 'o2', ruleId: 'r1' }]));
    expect(v.invariant).toBe('one-offer-per-trigger');
    expect(v.samples).toEqual([{ offer: 'a/o2', times: 2 }]);
  });

  it('fails when one trigger made two offers', () => {
    const v = violation(() => assertAtMostOneOfferPerTrigger([...base, { player: 'a', offerId: 'o3', ruleId: 'r2', triggerEventId: 'e1' }]));
    expect(v.samples).toEqual([{ trigger: 'a/e1', offers: ['o1', 'o3'] }]);
  });
});

describe('assertDeliveredOnce', () => {
  it('passes when every socket got each offer once (two devices of one player both get it)', () => {
    const r = assertDeliveredOnce([
      { player: 'a', offerId: 'o1', connection: 'a#1' },
      { player: 'a', offerId: 'o1', connection: 'a#2' },
    ]);
    expect(r.deliveries).toBe(2);
  });

  it('fails on a second delivery to one socket', () => {
    const v = violation(() =>
      assertDeliveredOnce([
        { player: 'a', offerId: 'o1', connection: 'a#1' },
        { player: 'a', offerId: 'o1', connection: 'a#1' },
      ]),
    );
    expect(v.invariant).toBe('delivered-once');
  });

  it('fails on a delivery to another player', () => {
    const v = violation(() => assertDeliveredOnce([{ player: 'b', offerId: 'o1', connection: 'b#1' }], new Map([['o1', 'a']])));
    expect(v.samples).toEqual([{ offerId: 'o1', owner: 'a', deliveredTo: 'b' }]);
  });
});

describe('assertBudgetNotExceeded', () => {
  const day = 86_400_000;
  const offers = (n: number, createdAt: number | null, ruleId = 'r1'): OfferSeen[] =>
    Array.from({ length: n }, (_, i) => ({ player: `p${i}`, offerId: `${ruleId}-${createdAt}-${i}`, ruleId, createdAt }));

  it('passes exactly at the budget, per window, ignoring other rules', () => {
    const r = assertBudgetNotExceeded([...offers(5, 10 * day), ...offers(5, 11 * day), ...offers(9, 10 * day, 'r2')], {
      ruleId: 'r1',
      count: 5,
      per: 'day',
    });
    expect(r).toEqual({ offered: 10, windows: 2 });
  });

  it('fails one over the budget', () => {
    const v = violation(() => assertBudgetNotExceeded(offers(6, 10 * day), { ruleId: 'r1', count: 5, per: 'day' }));
    expect(v.invariant).toBe('budget-not-exceeded');
    expect(v.samples).toEqual([{ window: new Date(10 * day).toISOString(), offered: 6, budget: 5 }]);
  });

  it('fails on offers without a time that together exceed it', () => {
    const v = violation(() => assertBudgetNotExceeded(offers(3, null), { ruleId: 'r1', count: 2, per: 'hour' }));
    expect(v.samples).toEqual([{ window: 'unknown', offered: 3, budget: 2 }]);
  });
});

describe('assertCommittedEqualsApplied', () => {
  it('passes when every partition committed exactly what it applied', () => {
    expect(assertCommittedEqualsApplied(new Map([[0, 10n], [1, 3n]]), new Map([[0, 10n], [1, 3n]]))).toEqual({ partitions: 2 });
  });

  it('fails when a partition applied beyond its commit', () => {
    const v = violation(() => assertCommittedEqualsApplied(new Map([[0, 10n]]), new Map([[0, 12n]])));
    expect(v.samples).toEqual([{ partition: 0, committed: '10', applied: '12' }]);
  });

  it('fails when a partition committed beyond what it applied', () => {
    const v = violation(() => assertCommittedEqualsApplied(new Map([[0, 10n], [1, 5n]]), new Map([[0, 10n]])));
    expect(v.samples).toEqual([{ partition: 1, committed: '5', applied: '0' }]);
  });
});
