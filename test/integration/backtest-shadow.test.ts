import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBundleDir } from '../../designer/load.ts';
import { compileBundle } from '../../designer/compile.ts';
import { assignVariant, inHoldout } from '../../offers/engine/hashing.ts';
import { testConfig } from '../helpers/stack.ts';
import { TestClient, type Frame } from './edge-harness.ts';
import { startPlayPulse, type RunningPlayPulse } from './backtest-stack.ts';
import { eventually } from './offers-fixtures.ts';

/**
 * Shadow mode end to end, on every role with the sample rules: `win-streak-cosmetic` is a
 * shadow rule (five wins in a row), `level-milestone` a live one. A player who wins six
 * times in a row and then reaches level 10 gets the live offer on their socket — and never
 * the shadow one, though the stats count it as `shadow_offered` and the decision trail
 * explains it with the values the condition read. The shadow rule's cooldown and cap are
 * never consumed: its sixth-win match is a shadow offer again.
 */
let pp: RunningPlayPulse;

interface StatRow {
  ruleId: string;
  variant: string;
  triggered: number;
  offered: number;
  shadow_offered: number;
  delivered: number;
}

interface RuleDecision {
  ruleId: string;
  outcome: string;
  reason: string;
  mode: string;
  values: Record<string, unknown>;
}

/** A player outside the global holdout whose level-milestone arm makes offers. */
function eligiblePlayer(): string {
  const compiled = compileBundle(readBundleDir('offers/rules'));
  if (!compiled.ok) throw new Error('the sample rules do not compile');
  const milestone = compiled.bundle.rules.find((r) => r.id === 'level-milestone');
  if (!milestone) throw new Error('the sample rules lost level-milestone');
  for (let i = 0; ; i++) {
    const id = `shadow-player-${i}`;
    if (!inHoldout(id, compiled.bundle.policy.holdoutPercent) && !assignVariant(id, milestone)?.holdout) return id;
  }
}

beforeAll(async () => {
  pp = await startPlayPulse(testConfig());
}, 120_000);

afterAll(async () => {
  await pp?.stop();
});

describe('shadow rules on live traffic', () => {
  it('are recorded, counted and explained, and never reach the client nor consume limits', async () => {
    const player = eligiblePlayer();
    const client = await TestClient.connect(`${pp.edgeUrl}?token=${encodeURIComponent(await pp.token(player))}`);
    try {
      await client.next((f) => f.t === 'hello');
      const ids: string[] = [];
      for (let i = 1; i <= 6; i++) {
        const id = `win-${i}`;
        ids.push(id);
        client.send({ t: 'ev', id, type: 'match.end', data: { result: 'win', duration_s: 300, mode: 'ranked', score: 1000 + i } });
      }
      client.send({ t: 'ev', id: 'lvl-10', type: 'level.up', data: { level: 10 } });
      await client.acked([...ids, 'lvl-10']);

      const live = await client.next((f) => f.t === 'offer' && (f.offer as Frame).ruleId === 'level-milestone');
      expect((live.offer as Frame).sku).toBe('bundle.level.milestone');
      const offers = client.frames.filter((f) => f.t === 'offer').map((f) => (f.offer as Frame).ruleId);
      expect(offers).toEqual(['level-milestone']);

      const stats = await pp.admin<{ rules: StatRow[] }>('GET', '/v1/stats/rules');
      const shadow = stats.rules.filter((r) => r.ruleId === 'win-streak-cosmetic');
      expect(shadow.map((r) => ({ triggered: r.triggered, shadow_offered: r.shadow_offered, offered: r.offered, delivered: r.delivered }))).toEqual([
        { triggered: 2, shadow_offered: 2, offered: 0, delivered: 0 },
      ]);
      const milestone = stats.rules.filter((r) => r.ruleId === 'level-milestone');
      expect(milestone.reduce((n, r) => n + r.offered, 0)).toBe(1);
      expect(milestone.reduce((n, r) => n + r.delivered, 0)).toBe(1);

      type Trail = { decisions: { eventId: string; offerId: string | null; rules: RuleDecision[] }[] };
      // Redis keeps the latest 3 decisions; the older ones come from the decision stream,
      // which is written off the decision path every 50 ms: read once win-1 has reached it.
      const trail = await eventually(async () => {
        const t = await pp.admin<Trail>('GET', `/v1/players/${player}/decisions`);
        return t.decisions.some((d) => d.eventId === 'win-1') ? t : undefined;
      }, 15_000, 'the oldest decision in the decision stream');
      const shadowDecisions = trail.decisions
        .filter((d) => d.eventId === 'win-5' || d.eventId === 'win-6')
        .map((d) => ({ eventId: d.eventId, offerId: d.offerId, rule: d.rules.find((r) => r.ruleId === 'win-streak-cosmetic') }));
      expect(shadowDecisions).toHaveLength(2);
      for (const d of shadowDecisions) {
        expect(d.offerId).toBeNull();
        expect(d.rule).toMatchObject({ mode: 'shadow', outcome: 'shadow' });
        expect(d.rule?.reason).toMatch(/shadow/);
      }
      expect(shadowDecisions.map((d) => d.rule?.values['player.win_streak']).sort()).toEqual([5, 6]);
      const early = trail.decisions.find((d) => d.eventId === 'win-4')?.rules.find((r) => r.ruleId === 'win-streak-cosmetic');
      expect(early).toMatchObject({ outcome: 'condition_false' });

      const snapshot = await pp.admin<{ inbox: { ruleId: string }[] }>('GET', `/v1/players/${player}`);
      expect(snapshot.inbox.map((o) => o.ruleId)).toEqual(['level-milestone']);
    } finally {
      await client.close();
    }
  }, 120_000);
});
