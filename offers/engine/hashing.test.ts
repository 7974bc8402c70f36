import { describe, expect, it } from 'vitest';
import { assignVariant, base32, inHoldout, offerIdFor, unitInterval } from './hashing.ts';
import { makeRule } from '../../test/fixtures/offers-engine.ts';

const arms = makeRule({
  id: 'comeback',
  variants: [
    { name: 'control', weight: 10, holdout: true, offer: {} },
    { name: 'a', weight: 45, holdout: false, offer: {} },
    { name: 'b', weight: 45, holdout: false, offer: {} },
  ],
});

describe('experiment arms', () => {
  it('assigns a player the same arm every time (pinned values: stable across releases and instances)', () => {
    const first = assignVariant('player-1', arms)?.name;
    for (let i = 0; i < 5; i += 1) expect(assignVariant('player-1', arms)?.name).toBe(first);
    const pinned = ['p-0', 'p-1', 'p-2', 'p-3', 'p-4', 'p-5'].map((p) => assignVariant(p, arms)?.name);
    expect(pinned).toMatchInlineSnapshot(`
      [
        "a",
        "b",
        "b",
        "a",
        "a",
        "control",
      ]
    `);
  });

  it('splits 20 000 players by weight within 1.5 points', () => {
    const counts: Record<string, number> = { control: 0, a: 0, b: 0 };
    const n = 20_000;
    for (let i = 0; i < n; i += 1) {
      const v = assignVariant(`player-${i}`, arms);
      if (v) counts[v.name] = (counts[v.name] ?? 0) + 1;
    }
    expect(Math.abs((counts.control ?? 0) / n - 0.1)).toBeLessThan(0.015);
    expect(Math.abs((counts.a ?? 0) / n - 0.45)).toBeLessThan(0.015);
    expect(Math.abs((counts.b ?? 0) / n - 0.45)).toBeLessThan(0.015);
  });

  it('assigns independently per rule (same player, different rule, uncorrelated arms)', () => {
    const other = makeRule({ id: 'starter', variants: arms.experiment?.variants ? [...arms.experiment.variants] : [] });
    let same = 0;
    const n = 5_000;
    for (let i = 0; i < n; i += 1) if (assignVariant(`p${i}`, arms)?.name === assignVariant(`p${i}`, other)?.name) same += 1;
    // independent arms agree with probability 0.1² + 0.45² + 0.45² = 0.415
    expect(Math.abs(same / n - 0.415)).toBeLessThan(0.03);
  });

  it('gives no arm to a rule without an experiment, and never picks a zero-weight arm', () => {
    expect(assignVariant('p', makeRule({ id: 'plain' }))).toBeNull();
    const zero = makeRule({ id: 'z', variants: [{ name: 'never', weight: 0, holdout: false, offer: {} }, { name: 'always', weight: 1, holdout: false, offer: {} }] });
    for (let i = 0; i < 500; i += 1) expect(assignVariant(`p${i}`, zero)?.name).toBe('always');
  });
});

describe('global holdout', () => {
  it('holds out a stable share of players close to the percent', () => {
    const n = 20_000;
    let held = 0;
    for (let i = 0; i < n; i += 1) if (inHoldout(`player-${i}`, 5)) held += 1;
    expect(Math.abs(held / n - 0.05)).toBeLessThan(0.006);
    expect(inHoldout('player-7', 5)).toBe(inHoldout('player-7', 5));
  });

  it('is monotonic in the percent: a player held out at 5 % is held out at 10 %', () => {
    for (let i = 0; i < 2_000; i += 1) if (inHoldout(`p${i}`, 5)) expect(inHoldout(`p${i}`, 10)).toBe(true);
  });

  it('holds out nobody at 0 and everybody at 100', () => {
    expect(inHoldout('x', 0)).toBe(false);
    expect(inHoldout('x', 100)).toBe(true);
  });
});

describe('offer ids', () => {
  it('are deterministic from (rule, player, event) and differ when any part differs', () => {
    const id = offerIdFor('comeback', 'player-1', 'ev-1');
    expect(offerIdFor('comeback', 'player-1', 'ev-1')).toBe(id);
    expect(id).toMatch(/^o[a-z2-7]{26}$/);
    expect(new Set([id, offerIdFor('comeback', 'player-1', 'ev-2'), offerIdFor('comeback', 'player-2', 'ev-1'), offerIdFor('starter', 'player-1', 'ev-1')]).size).toBe(4);
    expect(offerIdFor('a', 'bc', 'd')).not.toBe(offerIdFor('ab', 'c', 'd'));
  });

  it('pin their value so a release never renames existing offers', () => {
    expect(offerIdFor('comeback-bundle', 'player-1', 'ev-1')).toMatchInlineSnapshot(`"okxu7nil36jxtdmj5ijgoalxjtf"`);
  });

  it('base32 encodes per RFC 4648', () => {
    expect(base32(new TextEncoder().encode('foobar'))).toBe('mzxw6ytboi');
    expect(base32(new TextEncoder().encode('f'))).toBe('my');
  });

  it('unitInterval stays in [0, 1)', () => {
    for (let i = 0; i < 1000; i += 1) {
      const u = unitInterval(`s${i}`);
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
    }
  });
});
