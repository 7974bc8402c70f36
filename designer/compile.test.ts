import { describe, expect, it } from 'vitest';
import { compileBundle } from './compile.ts';
import { sampleBundle, sampleFiles } from './testing/sample.ts';

describe('the sample game', () => {
  it('compiles with no errors and no warnings', () => {
    const r = compileBundle(sampleFiles());
    expect(r.ok ? r.warnings : r.diagnostics).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('holds the CONTRACT example rule exactly', () => {
    const rule = sampleBundle().rules.find((r) => r.id === 'comeback-bundle');
    expect(rule).toMatchObject({
      enabled: true,
      mode: 'live',
      priority: 100,
      trigger: { event: 'match.end' },
      offer: { sku: 'bundle.comeback.small', title: 'Comeback Bundle', price: { amount: 199, currency: 'USD' }, discountPct: 40, ttlMs: 15 * 60_000 },
      limits: { cooldownMs: 24 * 3_600_000, maxPerPlayer: 3, budget: { count: 10000, per: 'day' } },
      experiment: { variants: [{ name: 'control', weight: 10, holdout: true, offer: {} }, { name: 'a', weight: 90, holdout: false, offer: {} }] },
      followUp: null,
    });
    expect(rule?.trigger.when?.source).toBe('event.data.result == "loss" && player.loss_streak >= 3');
    expect(rule?.trigger.when?.reads).toEqual(['event.data.result', 'player.loss_streak']);
  });

  it('indexes enabled rules by trigger, highest priority first, without follow-up-only rules', () => {
    const b = sampleBundle();
    expect(b.rulesByEvent.get('match.end')?.map((r) => r.id)).toEqual(['comeback-bundle', 'win-streak-cosmetic']);
    expect(b.rulesByEvent.get('store.open')?.map((r) => r.id)).toEqual(['starter-pack']);
    expect(b.rules.find((r) => r.id === 'starter-pack-reminder')?.followUpOnly).toBe(true);
    expect(b.rules.find((r) => r.id === 'starter-pack')?.followUp).toEqual({ afterMs: 600_000, unless: 'offer.purchased', rule: 'starter-pack-reminder' });
  });

  it('indexes properties by event in declaration order, with their types', () => {
    const b = sampleBundle();
    expect(b.propertiesByEvent.get('match.end')?.map((p) => p.name)).toEqual(['matches_played', 'loss_streak', 'win_streak', 'losses_10m', 'best_score']);
    const byName = new Map(b.properties.map((p) => [p.name, p]));
    expect(byName.get('coins_spent_7d')).toMatchObject({ kind: 'sum', field: ['data', 'coins'], windowMs: 7 * 86_400_000, valueType: 'int' });
    expect(byName.get('loss_streak')).toMatchObject({ kind: 'streak', valueType: 'int', windowMs: null });
    expect(byName.get('level')).toMatchObject({ kind: 'last', field: ['data', 'level'], valueType: 'int' });
  });

  it('reads the policy and the built-in response events', () => {
    const b = sampleBundle();
    expect(b.policy).toEqual({ maxOffersPerDay: 3, quietAfterPurchaseMs: 86_400_000, quietAfterDeclineMs: 7_200_000, holdoutPercent: 5, revenue: { event: 'shop.purchase', amountField: 'amount', currency: { field: 'currency' }, windowMs: 604_800_000 }, retentionMs: 90 * 86_400_000, segmentCaps: new Map([['whales', 5]]) });
    const purchased = b.events.get('offer.purchased');
    expect(purchased?.builtin).toBe(true);
    expect([...(purchased?.fields.values() ?? [])]).toEqual([
      { name: 'offerId', type: 'string', enum: null, required: true },
      { name: 'amount', type: 'int', enum: null, required: false },
      { name: 'currency', type: 'string', enum: null, required: false },
    ]);
    expect(b.events.get('match.end')?.fields.get('result')).toEqual({ name: 'result', type: 'string', enum: ['win', 'loss', 'draw'], required: true });
  });

  it('gives equal bundles equal hashes and carries the version', () => {
    const a = compileBundle(sampleFiles(), { version: 7 });
    const b = compileBundle(sampleFiles());
    expect(a.ok && b.ok && a.bundle.hash === b.bundle.hash).toBe(true);
    expect(a.ok && a.bundle.version).toBe(7);
  });

  it('accepts an empty bundle (built-in events only, no rules)', () => {
    const r = compileBundle({});
    expect(r.ok).toBe(true);
    expect(r.ok && [...r.bundle.events.keys()]).toEqual(['offer.shown', 'offer.accepted', 'offer.declined', 'offer.purchased']);
    expect(r.ok && r.bundle.policy.holdoutPercent).toBe(0);
  });
});
