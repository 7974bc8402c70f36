import { describe, expect, it } from 'vitest';
import { ReplyError } from 'ioredis';
import { PlayPulseError } from '../lib/errors.ts';
import type { AppliedEvent } from './decider-seam.ts';
import { isInfrastructureError, isolateDecisions } from './poison-decision.ts';

function event(offset: number): AppliedEvent {
  const player = `p${offset % 3}`;
  return {
    record: { v: 1, player, id: `e${offset}`, type: 'match.end', recvAt: 1_000 + offset, edge: 'e', session: 's' },
    partition: 0,
    offset: String(offset),
    index: 0,
    state: { id: player, first_seen: 0, last_seen: 0, events_total: 1, offers_today: 0, last_purchase_at: null, props: {} },
    duplicate: false,
    resent: false,
  };
}

describe('isInfrastructureError', () => {
  it('takes connection errors, busy replies and retriable codes for an outage', () => {
    expect(isInfrastructureError(new Error('Connection is closed.'))).toBe(true);
    expect(isInfrastructureError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isInfrastructureError(new ReplyError('LOADING Redis is loading the dataset in memory'))).toBe(true);
    expect(isInfrastructureError(new ReplyError('CLUSTERDOWN The cluster is down'))).toBe(true);
    expect(isInfrastructureError(Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' }))).toBe(true);
    expect(isInfrastructureError(Object.assign(new Error('broker gone'), { name: 'KafkaJSConnectionError' }))).toBe(true);
    expect(isInfrastructureError(new PlayPulseError('STACK_UNAVAILABLE', 'Redis could not apply events'))).toBe(true);
    expect(isInfrastructureError(new Error('wrapped', { cause: new Error('Command timed out') }))).toBe(true);
    expect(isInfrastructureError(new AggregateError([new TypeError('x'), new Error('Connection is closed.')]))).toBe(true);
  });

  it('takes an error about the call itself for a poison decision', () => {
    expect(isInfrastructureError(new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
    expect(isInfrastructureError(new ReplyError('ERR user_script:12: Script attempted to access nonexistent global variable'))).toBe(false);
    expect(isInfrastructureError(new TypeError("Cannot read properties of undefined (reading 'amount')"))).toBe(false);
    expect(isInfrastructureError(new PlayPulseError('PROC_DECISION_FAILED'))).toBe(false);
    expect(isInfrastructureError('a string')).toBe(false);
  });
});

describe('isolateDecisions', () => {
  const all = Array.from({ length: 9 }, (_, i) => event(i));

  it('finds the events that fail alone and decides every other one, in chunk order', async () => {
    const decidedOrder: string[] = [];
    const poison = new Set(['2', '7']);
    const decide = async (part: readonly AppliedEvent[]) => {
      const bad = part.find((e) => poison.has(e.offset));
      if (bad) throw new TypeError(`no offer template for ${bad.record.id}`);
      for (const e of part) decidedOrder.push(e.offset);
    };
    const failed = await isolateDecisions(decide, all, () => true);
    expect(failed?.map((f) => [f.event.offset, f.error])).toEqual([
      ['2', 'no offer template for e2'],
      ['7', 'no offer template for e7'],
    ]);
    expect(decidedOrder).toEqual(['0', '1', '3', '4', '5', '6', '8']);
  });

  it('rethrows an infrastructure error instead of isolating past it', async () => {
    let calls = 0;
    const decide = async (part: readonly AppliedEvent[]) => {
      calls += 1;
      if (calls === 1) throw new TypeError('bad data');
      if (part.length > 0) throw new Error('Connection is closed.');
    };
    await expect(isolateDecisions(decide, all, () => true)).rejects.toThrow('Connection is closed.');
  });

  it('stops and returns null once the batch is no longer ours', async () => {
    let ours = true;
    const decide = async () => {
      ours = false;
      throw new TypeError('bad data');
    };
    expect(await isolateDecisions(decide, all, () => ours)).toBeNull();
  });
});
