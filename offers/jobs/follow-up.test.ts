import { describe, expect, it } from 'vitest';
import { followUpCancelled } from './follow-up.ts';

describe('follow-up cancellation', () => {
  it('is cancelled by the `unless` response and by the responses that imply it', () => {
    expect(followUpCancelled('offer.purchased', { shown: 1, accepted: 2 })).toBe(false);
    expect(followUpCancelled('offer.purchased', { purchased: 3 })).toBe(true);
    expect(followUpCancelled('offer.accepted', { purchased: 3 })).toBe(true);
    expect(followUpCancelled('offer.accepted', { declined: 3 })).toBe(false);
    expect(followUpCancelled('offer.shown', { declined: 3 })).toBe(true);
    expect(followUpCancelled('offer.declined', { shown: 1 })).toBe(false);
  });

  it('ignores lifecycle records that are not player responses', () => {
    expect(followUpCancelled('offer.shown', { expired: 5, granted: 6 })).toBe(false);
  });
});
