import { describe, expect, it } from 'vitest';
import { ConditionCache, PLAYER_BUILTINS, compileCondition, type ConditionScope } from './cel.ts';
import type { Condition, ConditionInput, EventSpec, FieldSpec, ValueType } from './types.ts';

const field = (name: string, type: ValueType, extra: Partial<FieldSpec> = {}): [string, FieldSpec] => [name, { name, type, enum: null, required: false, ...extra }];
const matchEnd: EventSpec = {
  type: 'match.end',
  builtin: false,
  fields: new Map([
    field('result', 'string', { enum: ['win', 'loss', 'draw'], required: true }),
    field('duration_s', 'int'),
    field('accuracy', 'double'),
    field('ranked', 'bool'),
    field('tags', 'list'),
    field('extra', 'map'),
  ]),
};
const player = new Map<string, ValueType>([...PLAYER_BUILTINS, ['loss_streak', 'int'], ['coins_spent_7d', 'double'], ['level', 'int']]);
const scope: ConditionScope = { event: matchEnd, player };

function cond(source: string, s: ConditionScope = scope): Condition {
  const r = compileCondition(source, s);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.condition;
}

function cond2(source: string, cache: ConditionCache): Condition {
  const r = compileCondition(source, scope, cache);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.condition;
}

function input(data: Record<string, unknown>, props: Record<string, unknown> = {}): ConditionInput {
  return {
    event: { type: 'match.end', id: 'e1', ts: 1_700_000_000_000, data },
    player: { id: 'p1', first_seen: 1, last_seen: 2, events_total: 10, offers_today: 0, last_purchase_at: null, ...props },
  };
}

describe('condition evaluation', () => {
  it('evaluates the CONTRACT example with plain JS numbers', () => {
    const c = cond('event.data.result == "loss" && player.loss_streak >= 3');
    expect(c.evaluate(input({ result: 'loss' }, { loss_streak: 3 }))).toEqual({ value: true });
    expect(c.evaluate(input({ result: 'loss' }, { loss_streak: 2 }))).toEqual({ value: false });
    expect(c.evaluate(input({ result: 'win' }, { loss_streak: 9 }))).toEqual({ value: false });
  });

  it('turns declared ints into CEL ints and declared doubles into doubles', () => {
    expect(cond('player.level * 2 == 10').evaluate(input({}, { level: 5 }))).toEqual({ value: true });
    expect(cond('player.level / 2 == 2').evaluate(input({}, { level: 5 }))).toEqual({ value: true });
    expect(cond('player.coins_spent_7d / 2.0 == 2.5').evaluate(input({}, { coins_spent_7d: 5 }))).toEqual({ value: true });
    expect(cond('event.data.accuracy > 0.5').evaluate(input({ accuracy: 1 }))).toEqual({ value: true });
    expect(cond('player.coins_spent_7d > 100').evaluate(input({}, { coins_spent_7d: 150.5 }))).toEqual({ value: true });
    expect(cond('event.ts > 0 && event.type == "match.end" && event.id == "e1"').evaluate(input({}))).toEqual({ value: true });
  });

  it('is false with an error, never a throw, for a missing optional field', () => {
    const r = cond('event.data.duration_s > 60').evaluate(input({ result: 'win' }));
    expect(r.value).toBe(false);
    expect(r.error).toMatch(/duration_s/);
    expect(cond('has(event.data.duration_s) && event.data.duration_s > 60').evaluate(input({ result: 'win' }))).toEqual({ value: false });
  });

  it('is false with an error for a null property and for a value of the wrong type', () => {
    const nullProp = cond('player.last_purchase_at > 0').evaluate(input({}));
    expect(nullProp.value).toBe(false);
    expect(nullProp.error).toMatch(/last_purchase_at/);
    expect(cond('player.level > 1').evaluate(input({}, { level: 'high' })).value).toBe(false);
    expect(cond('player.level > 1').evaluate(input({}, { level: 1.5 })).value).toBe(false);
  });

  it('lets `||` absorb an error on the other side, as CEL does', () => {
    expect(cond('player.loss_streak >= 3 || event.data.result == "loss"').evaluate(input({ result: 'loss' }))).toEqual({ value: true });
  });

  it('reads lists and maps with integral numbers as ints', () => {
    expect(cond('"mvp" in event.data.tags && event.data.tags.size() == 2').evaluate(input({ tags: ['mvp', 'ace'] }))).toEqual({ value: true });
    expect(cond('event.data.extra.kills >= 3').evaluate(input({ extra: { kills: 4 } }))).toEqual({ value: true });
    expect(cond('event.data.ranked').evaluate(input({ ranked: true }))).toEqual({ value: true });
  });

  it('lists the paths it reads', () => {
    expect(cond('event.data.result == "loss" && (player.loss_streak >= 3 || has(event.data.duration_s))').reads).toEqual([
      'event.data.duration_s',
      'event.data.result',
      'player.loss_streak',
    ]);
    expect(cond('event.data.tags.exists(t, t == "mvp")').reads).toEqual(['event.data.tags']);
  });

  it('shares one adapted input across conditions of a cache and leaves the input unchanged', () => {
    const cache = new ConditionCache();
    const a = compileCondition('player.level > 1', scope, cache);
    const b = compileCondition('player.level < 10', scope, cache);
    const i = input({}, { level: 5 });
    expect(a.ok && a.condition.evaluate(i)).toEqual({ value: true });
    expect(b.ok && b.condition.evaluate(i)).toEqual({ value: true });
    expect(i.player.level).toBe(5);
  });

  it('adapts the fields its conditions read, including those of a condition compiled after an input was adapted', () => {
    const cache = new ConditionCache();
    const first = cond2('player.level > 1 && event.data.duration_s > 60', cache);
    const i = input({ duration_s: 90, accuracy: 0.5, ranked: true }, { level: 5, loss_streak: 2, coins_spent_7d: 12.5 });
    expect(first.evaluate(i)).toEqual({ value: true });
    // Compiled once `i` was adapted for `first`: its fields must be there too.
    const later = cond2('player.loss_streak == 2 && event.data.accuracy > 0.4 && event.data.ranked', cache);
    expect(later.evaluate(i)).toEqual({ value: true });
    expect(first.evaluate(i)).toEqual({ value: true });
    // A read of the whole map (here through dyn) gets every declared field.
    const whole = cond2('dyn(player).coins_spent_7d > 12.0 && dyn(event.data).ranked == true', cache);
    expect(whole.evaluate(i)).toEqual({ value: true });
    // A field that is absent still reads as absent.
    expect(cond2('has(player.level)', cache).evaluate(input({}, {}))).toEqual({ value: false });
  });

  it('refuses what does not type-check, with offsets into the source', () => {
    const bad = (src: string, s: ConditionScope = scope) => {
      const r = compileCondition(src, s);
      if (r.ok) throw new Error(`${src} compiled`);
      return r.problems[0];
    };
    expect(bad('player.los_streak > 1')).toMatchObject({ code: 'RULE_REFERENCE', offset: 7, hint: 'did you mean `loss_streak`?' });
    expect(bad('event.data.duration_s == "60"')).toMatchObject({ code: 'RULE_TYPE_ERROR', message: 'type mismatch: no operator for int == string' });
    expect(bad('player.level == 1.0')).toMatchObject({ code: 'RULE_TYPE_ERROR', hint: 'write 3.0 for a double, or convert with double(…) or int(…)' });
    expect(bad('event.data.result')).toMatchObject({ code: 'RULE_TYPE_ERROR', message: 'the condition is of type string; it must be true or false' });
    expect(bad('event.data.result in ["loss", "lost"]')).toMatchObject({ offset: 30, message: '`event.data.result` is never "lost": it is one of win, loss, draw' });
    expect(bad('player.level > 1', { event: matchEnd, player: null })).toMatchObject({ code: 'RULE_REFERENCE', offset: 0 });
  });

  it('evaluates fast once compiled', () => {
    const c = cond('event.data.result == "loss" && player.loss_streak >= 3');
    let hits = 0;
    const n = 20_000;
    const t0 = performance.now();
    for (let k = 0; k < n; k++) if (c.evaluate(input({ result: 'loss' }, { loss_streak: k % 5 })).value) hits++;
    const nsPerEval = ((performance.now() - t0) * 1e6) / n;
    expect(hits).toBe((n * 2) / 5);
    console.info(`condition evaluation with a fresh input each time: ${nsPerEval.toFixed(0)} ns`);
  });
});
