import { describe, expect, it } from 'vitest';
import { liveSamples, PULSE_STALE_MS, pulseRates, type PulseSample } from './pulse.ts';

const now = Date.now();
const sample = (at: number, events: number, decisions: number, offers: number, lag: number, prev: PulseSample['prev']): PulseSample => ({ at, events, decisions, offers, lag, prev });

describe('the pipeline pulse', () => {
  it('computes per-second rates from a sample and the one before it', () => {
    const s = sample(now, 1_000, 300, 40, 7, { at: now - 2_000, events: 600, decisions: 100, offers: 20 });
    expect(pulseRates(s)).toEqual({ at: now, eventsPerSec: 200, decisionsPerSec: 100, offersPerSec: 10, lag: 7 });
  });

  it('answers zero rates without an earlier sample or when a counter went back', () => {
    expect(pulseRates(sample(now, 5, 5, 5, 3, null))).toEqual({ at: now, eventsPerSec: 0, decisionsPerSec: 0, offersPerSec: 0, lag: 3 });
    expect(pulseRates(sample(now, 5, 5, 5, 0, { at: now - 1_000, events: 9, decisions: 1, offers: 5 })).eventsPerSec).toBe(0);
    expect(pulseRates(sample(now, 5, 5, 5, 0, { at: now, events: 1, decisions: 1, offers: 1 })).eventsPerSec).toBe(0);
  });

  it('keeps the samples of live instances only, and skips fields that do not parse', () => {
    const live = sample(now, 1, 1, 1, 0, null);
    const old = sample(now - PULSE_STALE_MS - 1, 1, 1, 1, 0, null);
    const recent = sample(now - PULSE_STALE_MS, 1, 1, 1, 0, null);
    const got = liveSamples({ a: JSON.stringify(live), b: JSON.stringify(old), c: JSON.stringify(recent), d: 'not json', e: '{"at":"x"}' });
    expect([...got.keys()].sort()).toEqual(['a', 'c']);
    expect(liveSamples({}).size).toBe(0);
  });
});
