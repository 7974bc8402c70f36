import { describe, expect, it } from 'vitest';
import { backoffMs, untilDone, type BatchControl } from './retry.ts';

function control(opts: { stale?: () => boolean } = {}): BatchControl & { beats: number } {
  const c = {
    beats: 0,
    heartbeat: async () => {
      c.beats += 1;
    },
    isRunning: () => true,
    isStale: opts.stale ?? (() => false),
  };
  return c;
}

describe('untilDone', () => {
  it('retries a failing step until it succeeds, reporting failures and the recovery', async () => {
    const seen: string[] = [];
    let attempts = 0;
    const r = await untilDone(control(), { onFailure: (err) => seen.push(String(err)), onRecovered: () => seen.push('recovered') }, async () => {
      attempts += 1;
      if (attempts < 3) throw new Error(`down ${attempts}`);
      return 'ok';
    });
    expect(r).toEqual({ done: true, value: 'ok' });
    expect(seen).toEqual(['Error: down 1', 'Error: down 2', 'recovered']);
  });

  it('gives up without a value once the batch is stale', async () => {
    let stale = false;
    const r = await untilDone(control({ stale: () => stale }), { onFailure: () => (stale = true), onRecovered: () => undefined }, async () => {
      throw new Error('down');
    });
    expect(r).toEqual({ done: false });
  });
});

describe('backoffMs', () => {
  it('doubles from 100 ms up to 5 s', () => {
    expect([0, 1, 2, 5, 6, 30].map((a) => backoffMs(a))).toEqual([100, 200, 400, 3_200, 5_000, 5_000]);
  });

  it('stops doubling at a given cap', () => {
    expect([0, 1, 2, 3, 30].map((a) => backoffMs(a, 400))).toEqual([100, 200, 400, 400, 400]);
  });
});
