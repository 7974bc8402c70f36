/** load/scenarios/stream.ts: load clients are streams with seq, like the SDK. */
import { describe, expect, it } from 'vitest';
import { STREAM_PATTERN } from '../../protocol/limits.ts';
import { EventStream, batchFrame, createRng, pingFrame, randomStreamId, type WireEvent } from '../../load/scenarios/index.ts';

describe('EventStream', () => {
  it('has a valid upgrade stream id and query', () => {
    const s = new EventStream();
    expect(STREAM_PATTERN.test(s.id)).toBe(true);
    expect(s.id).toHaveLength(16);
    expect(s.query).toBe(`stream=${s.id}`);
    expect(new EventStream().id).not.toBe(s.id);
    expect(randomStreamId(createRng(3))).toBe(randomStreamId(createRng(3)));
  });

  it('numbers events 1.. in send order across frames and keeps the seq of an event sent again', () => {
    const s = new EventStream('st');
    const a: WireEvent[] = [{ id: 'a', type: 'x' }, { id: 'b', type: 'x' }];
    const one: WireEvent = { id: 'c', type: 'x' };
    expect(s.stampFrame(batchFrame(a))).toEqual({ t: 'evs', events: [{ id: 'a', type: 'x', seq: 1 }, { id: 'b', type: 'x', seq: 2 }] });
    expect(s.stampFrame(batchFrame([one]))).toEqual({ t: 'ev', id: 'c', type: 'x', seq: 3 });
    expect(s.stamp(a).map((e) => e.seq)).toEqual([1, 2]);
    expect(s.stamp<WireEvent>([{ id: 'd', type: 'x' }])[0]?.seq).toBe(4);
    expect(s.stampFrame(pingFrame(1))).toEqual({ t: 'ping', n: 1 });
  });
});
