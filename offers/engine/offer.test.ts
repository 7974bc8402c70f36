import { describe, expect, it } from 'vitest';
import { buildOffer, newLedgerRecord, variantLabel } from './offer.ts';
import { makeRule } from '../../test/fixtures/offers-engine.ts';

const INPUT = { event: { type: 'match.end', id: 'ev', ts: 0, data: {} }, player: {} };

describe('buildOffer', () => {
  const rule = makeRule({ id: 'comeback', ttlMs: 15 * 60_000 });

  it('expires ttl after the event time and carries the rule fields', () => {
    const { offer: o, shaped } = buildOffer(rule, null, 'oabc', 1_000, INPUT);
    expect(o).toEqual({ id: 'oabc', ruleId: 'comeback', sku: 'sku.comeback', title: 'Offer comeback', price: { amount: 199, currency: 'USD' }, discountPct: 40, expiresAt: 1_000 + 15 * 60_000 });
    expect(shaped).toEqual([]);
  });

  it('applies the arm overrides and names the arm', () => {
    const o = buildOffer(rule, { name: 'cheap', weight: 1, holdout: false, offer: { price: { amount: 99, currency: 'USD' }, discountPct: 60 } }, 'oabc', 0, INPUT).offer;
    expect(o.price.amount).toBe(99);
    expect(o.discountPct).toBe(60);
    expect(o.variant).toBe('cheap');
    expect(newLedgerRecord(o, 'ev', 0)).toMatchObject({ offerId: 'oabc', variant: 'cheap', sku: 'sku.comeback', responses: {} });
    expect(variantLabel(o.variant)).toBe('cheap');
    expect(variantLabel(null)).toBe('default');
  });
});
