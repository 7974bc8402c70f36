/** protocol/server-frames.ts: the wire offer and the client-side frame parser. */
import { describe, expect, it } from 'vitest';
import { parseServerFrame, toWireOffer } from '../../protocol/server-frames.ts';
import { liveInstances, orderInbox, parseOfferMessage } from '../../protocol/offer-channel.ts';

const offer = { id: 'o1', ruleId: 'r', sku: 's', price: { amount: 199, currency: 'USD' }, expiresAt: 10 };

describe('toWireOffer', () => {
  it('keeps the contract fields and drops the rest (createdAt, unknown fields)', () => {
    expect(toWireOffer({ ...offer, title: 'T', discountPct: 40, variant: 'a', data: { k: 1 }, createdAt: 5, secret: 'x' })).toEqual({
      ...offer,
      title: 'T',
      discountPct: 40,
      variant: 'a',
      data: { k: 1 },
    });
  });

  it('keeps a whole quantity of at least 1 and drops any other', () => {
    expect(toWireOffer({ ...offer, quantity: 3 })?.quantity).toBe(3);
    for (const quantity of [0, 1.5, -2, '3', null]) expect(toWireOffer({ ...offer, quantity })).not.toHaveProperty('quantity');
  });

  it('refuses objects that are not offers', () => {
    expect(toWireOffer(null)).toBeNull();
    expect(toWireOffer({ ...offer, price: { amount: 1.5, currency: 'USD' } })).toBeNull();
    expect(toWireOffer({ ...offer, expiresAt: 'soon' })).toBeNull();
    expect(toWireOffer({ ...offer, id: 3 })).toBeNull();
  });
});

describe('parseServerFrame', () => {
  it('reads each server frame and refuses malformed ones', () => {
    expect(parseServerFrame({ t: 'ack', ids: ['a'] })).toEqual({ t: 'ack', ids: ['a'] });
    expect(parseServerFrame({ t: 'ack', ids: [1] })).toBeNull();
    expect(parseServerFrame({ t: 'err', code: 'bad_event', message: 'm', id: 'e' })).toEqual({ t: 'err', code: 'bad_event', message: 'm', id: 'e' });
    expect(parseServerFrame({ t: 'offer', offer })).toEqual({ t: 'offer', offer });
    expect(parseServerFrame({ t: 'hello', player: 'p' })).toBeNull();
    expect(parseServerFrame({ t: 'other' })).toBeNull();
  });
});

describe('edge routing messages and inbox order', () => {
  it('parses channel messages and orders inbox entries by createdAt, skipping junk', () => {
    expect(parseOfferMessage(JSON.stringify({ player: 'p', offer }))).toEqual({ player: 'p', offer });
    expect(parseOfferMessage('{')).toBeNull();
    const { offers, invalid } = orderInbox([
      JSON.stringify({ ...offer, id: 'late', createdAt: 3 }),
      'not json',
      JSON.stringify({ ...offer, id: 'early', createdAt: 1 }),
      JSON.stringify({ id: 'broken' }),
      JSON.stringify({ ...offer, id: 'mid', createdAt: 2 }),
    ]);
    expect(offers.map((o) => o.id)).toEqual(['early', 'mid', 'late']);
    expect(invalid).toBe(2);
  });

  it('keeps the instances of a flat presence hash whose expiry is still ahead', () => {
    expect(liveInstances(['edge-a', '2000', 'edge-b', '1000', 'edge-c', '1001'], 1000)).toEqual(['edge-a', 'edge-c']);
    expect(liveInstances([], 1000)).toEqual([]);
    // A field without its value (never written so) is not an instance.
    expect(liveInstances(['edge-a', '2000', 'edge-odd'], 1000)).toEqual(['edge-a']);
  });
});
