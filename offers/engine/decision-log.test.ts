import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeDecisionRecord } from './decision-log.ts';
import { encodeDecision } from './explain-codec.ts';
import type { DecisionRecord } from './explain.ts';

const record = (id: string): DecisionRecord => ({
  eventId: id,
  eventType: 'match.end',
  at: 1_000 + id.length,
  bundleVersion: 7,
  offerId: null,
  rules: [{ ruleId: 'comeback', mode: 'shadow', priority: 2, variant: null, outcome: 'condition_false', reason: 'condition false', values: { 'player.losses': 1 } }],
});

describe('decodeDecisionRecord, version 3', () => {
  it('gives back each player and full decision of a record, in order', () => {
    const value = pack([3, 'p1', encodeDecision(record('a')), 'p2', encodeDecision(record('bb')), 'p1', encodeDecision(record('ccc'))]);
    expect(decodeDecisionRecord(null, value)).toEqual([
      { player: 'p1', decision: record('a') },
      { player: 'p2', decision: record('bb') },
      { player: 'p1', decision: record('ccc') },
    ]);
  });

  it('leaves out an entry whose bytes do not decode and keeps the others', () => {
    const value = pack([3, 'p1', Buffer.from([0xc1, 0xff]), 'p2', encodeDecision(record('ok')), 42, encodeDecision(record('x'))]);
    expect(decodeDecisionRecord(null, value)).toEqual([{ player: 'p2', decision: record('ok') }]);
  });

  it('reads nothing from an array of another version or from bytes that are not MessagePack', () => {
    expect(decodeDecisionRecord(null, pack([4, 'p1', encodeDecision(record('a'))]))).toEqual([]);
    expect(decodeDecisionRecord(null, Buffer.from([0xc1]))).toEqual([]);
    expect(decodeDecisionRecord(null, pack({ v: 3 }))).toEqual([]);
  });
});
