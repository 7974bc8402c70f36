import { describe, expect, it } from 'vitest';
import { totalRates } from './pipeline.ts';

const now = Date.now();

describe('pipeline health', () => {
  it('sums instances: rates and lag add up, the time is the newest', () => {
    const a = { at: now - 1_000, eventsPerSec: 10, decisionsPerSec: 2, offersPerSec: 1, lag: 4 };
    const b = { at: now, eventsPerSec: 5, decisionsPerSec: 1, offersPerSec: 0.5, lag: 6 };
    expect(totalRates([a, b])).toEqual({ at: now, eventsPerSec: 15, decisionsPerSec: 3, offersPerSec: 1.5, lag: 10 });
    expect(totalRates([])).toEqual({ at: 0, eventsPerSec: 0, decisionsPerSec: 0, offersPerSec: 0, lag: 0 });
  });
});
