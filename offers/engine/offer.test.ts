import { describe, expect, it } from 'vitest';
import { buildOffer, newLedgerRecord, variantLabel } from './offer.ts';
import { makeRule } from '../../test/fixtures/offers-engine.ts';
import { compileBundle } from '../../designer/compile.ts';
import { sampleFiles } from '../../designer/testing/sample.ts';

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

describe('buildOffer with shaped fields', () => {
  const files = {
    ...sampleFiles(),
    'shaped.yaml': `id: shaped
trigger:
  event: session.start
offer:
  sku: s
  title: { template: 'Pack for {{ player.sessions_7d }} sessions', default: Pack }
  price: { amount: { expr: 'player.purchases * 100', min: 100, max: 900, default: 300 }, currency: USD }
  quantity: { expr: 'player.purchases', min: 1, max: 5, default: 1 }
  ttl: 1h
experiment:
  variants:
    - { name: fixed, weight: 1, offer: { price: { amount: 250, currency: EUR } } }
    - { name: same, weight: 1 }
`,
  };
  const compiled = compileBundle(files);
  const rule = compiled.ok ? compiled.bundle.rules.find((r) => r.id === 'shaped') : undefined;
  const input = { event: { type: 'session.start', id: 'e', ts: 0, data: {} }, player: { purchases: 7, sessions_7d: 2 } };

  it('computes every shaped field for the player and reports each', () => {
    expect(rule).toBeDefined();
    if (!rule) return;
    const { offer, shaped } = buildOffer(rule, rule.experiment?.variants[1] ?? null, 'o1', 0, input);
    expect(offer).toMatchObject({ title: 'Pack for 2 sessions', price: { amount: 700, currency: 'USD' }, quantity: 5, variant: 'same' });
    expect(shaped.map((v) => [v.field, v.outcome, v.value])).toEqual([
      ['title', 'computed', 'Pack for 2 sessions'],
      ['price.amount', 'computed', 700],
      ['quantity', 'clamped', 5],
    ]);
  });

  it("gives an arm's static price precedence over the rule's computed one; the other shaped fields still apply", () => {
    if (!rule) throw new Error('rule shaped missing'); // programmer error: compiled above
    const { offer, shaped } = buildOffer(rule, rule.experiment?.variants[0] ?? null, 'o1', 0, input);
    expect(offer).toMatchObject({ price: { amount: 250, currency: 'EUR' }, quantity: 5, title: 'Pack for 2 sessions', variant: 'fixed' });
    expect(shaped.map((v) => v.field)).toEqual(['title', 'quantity']);
  });
});

