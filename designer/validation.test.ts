import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileBundle } from './compile.ts';
import { sampleFiles, sampleWith, diagnosticsOf } from './testing/sample.ts';
import type { Diagnostic } from './types.ts';

/** The single diagnostic of a result (fails the test when there are more or none). */
function only(files: Record<string, string>): Diagnostic {
  const list = diagnosticsOf(compileBundle(files));
  expect(list, JSON.stringify(list, null, 1)).toHaveLength(1);
  return list[0] as Diagnostic;
}

const comeback = (edit: (t: string) => string) => sampleWith('comeback-bundle.yaml', edit);

describe('validation errors, each with file, line, column and hint', () => {
  it('an unknown player field, with "did you mean"', () => {
    const d = only(comeback((t) => t.replace('player.loss_streak', 'player.los_streak')));
    expect(d).toMatchObject({ severity: 'error', code: 'RULE_REFERENCE', file: 'comeback-bundle.yaml', line: 9, column: 48, hint: 'did you mean `loss_streak`?' });
    expect(d.message).toBe('`player` has no field `los_streak`; it is not declared in properties.yaml');
  });

  it('an unknown event data field, with "did you mean"', () => {
    const d = only(comeback((t) => t.replace('event.data.result', 'event.data.reslt')));
    expect(d).toMatchObject({ code: 'RULE_REFERENCE', line: 9, column: 21, hint: 'did you mean `result`?' });
    expect(d.message).toContain('`event.data` has no field `reslt`; it is not declared in events.yaml (match.end)');
  });

  it('an unknown variable', () => {
    const d = only(comeback((t) => t.replace('player.loss_streak', 'playr.loss_streak')));
    expect(d).toMatchObject({ code: 'RULE_REFERENCE', line: 9, column: 41, hint: 'did you mean `player`?' });
  });

  it('a wrong comparison type', () => {
    const d = only(comeback((t) => t.replace('player.loss_streak >= 3', 'player.loss_streak >= "3"')));
    expect(d).toMatchObject({ code: 'RULE_TYPE_ERROR', line: 9, column: 41, message: 'type mismatch: no operator for int >= string' });
    expect(d.hint).toContain('numbers take no quotes');
  });

  it('a non-boolean condition', () => {
    const d = only(comeback((t) => t.replace(`'event.data.result == "loss" && player.loss_streak >= 3'`, 'player.loss_streak')));
    expect(d).toMatchObject({ code: 'RULE_TYPE_ERROR', line: 9, column: 9, message: 'the condition is of type int; it must be true or false' });
    expect(d.hint).toBe('compare it, e.g. `player.loss_streak >= 1`');
  });

  it('a string the enum never takes', () => {
    const d = only(comeback((t) => t.replace('"loss"', '"lose"')));
    expect(d).toMatchObject({ code: 'RULE_TYPE_ERROR', line: 9, column: 31, message: '`event.data.result` is never "lose": it is one of win, loss, draw', hint: 'did you mean `loss`?' });
  });

  it('a CEL syntax error, at its column', () => {
    const d = only(comeback((t) => t.replace('>= 3', '>= ')));
    expect(d).toMatchObject({ code: 'RULE_TYPE_ERROR', line: 9, column: 62 });
    expect(d.message).toMatch(/^CEL syntax error: /);
  });

  it('columns inside double-quoted and block scalars', () => {
    const dq = only(comeback((t) => t.replace(`when: 'event.data.result == "loss" && player.loss_streak >= 3'`, `when: "event.data.result == \\"loss\\" && player.los_streak >= 3"`)));
    expect(dq).toMatchObject({ line: 9, column: 50 });
    const block = only(
      comeback((t) => t.replace(`when: 'event.data.result == "loss" && player.loss_streak >= 3'`, 'when: |\n    event.data.result == "loss" &&\n      player.los_streak >= 3')),
    );
    expect(block).toMatchObject({ line: 11, column: 14 });
    const escaped = only(comeback((t) => t.replace(`when: 'event.data.result == "loss" && player.loss_streak >= 3'`, `when: 'event.data.result == ''loss'' && player.los_streak >= 3'`)));
    expect(escaped).toMatchObject({ line: 9, column: 50 });
  });

  it('a wrong type in a field ("priority: high")', () => {
    const d = only(comeback((t) => t.replace('priority: 100', 'priority: high')));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', file: 'comeback-bundle.yaml', line: 6, column: 11, message: '`priority` must be a number, not the string "high"' });
  });

  it('an unknown key, with "did you mean"', () => {
    const d = only(comeback((t) => t.replace('enabled: true', 'enabeld: true')));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', line: 4, column: 1, message: 'unknown key `enabeld`', hint: 'did you mean `enabled`?' });
  });

  it('a missing required key', () => {
    const d = only(comeback((t) => t.replace('  sku: bundle.comeback.small\n', '')));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', line: 11, column: 3, message: '`offer.sku` is required', hint: 'add `sku:`' });
  });

  it('a bad duration', () => {
    const d = only(comeback((t) => t.replace('ttl: 15m', 'ttl: 15min')));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', line: 15, column: 8 });
    expect(d.message).toBe('`offer.ttl` must be a duration like 30s, 15m, 24h or 7d, not the string "15min"');
  });

  it('a YAML syntax error', () => {
    const d = only(sampleWith('policy.yaml', (t) => t.replace('maxOffersPerDay: 3', 'maxOffersPerDay: [3')));
    expect(d).toMatchObject({ severity: 'error', code: 'RULE_YAML', file: 'policy.yaml', line: 5 });
    expect(d.message).toMatch(/^YAML: /);
  });

  it('a duplicate key', () => {
    const d = only(comeback((t) => t.replace('priority: 100', 'priority: 100\npriority: 5')));
    expect(d).toMatchObject({ code: 'RULE_YAML', line: 7, column: 1, hint: 'each key may appear once per map' });
  });

  it('duplicate rule ids', () => {
    const files = { ...sampleFiles(), 'zz-copy.yaml': sampleFiles()['comeback-bundle.yaml'] as string };
    const list = diagnosticsOf(compileBundle(files));
    expect(list.find((d) => d.severity === 'error')).toMatchObject({
      code: 'RULE_CONFLICT',
      file: 'zz-copy.yaml',
      line: 2,
      column: 5,
      message: 'duplicate rule id `comeback-bundle`; comeback-bundle.yaml uses it too',
    });
  });

  it('a trigger event that is not declared', () => {
    const d = only(comeback((t) => t.replace('event: match.end', 'event: match.ended')));
    expect(d).toMatchObject({ code: 'RULE_REFERENCE', line: 8, column: 10, message: 'trigger event `match.ended` is not declared in events.yaml', hint: 'did you mean `match.end`?' });
  });

  it('a rule shadowed by a higher-priority rule with the same trigger and a weaker condition (warning)', () => {
    const lower = (sampleFiles()['comeback-bundle.yaml'] as string)
      .replace('id: comeback-bundle', 'id: comeback-premium')
      .replace('priority: 100', 'priority: 10')
      .replace('player.loss_streak >= 3', 'player.loss_streak >= 3 && player.level >= 20');
    const r = compileBundle({ ...sampleFiles(), 'comeback-premium.yaml': lower });
    expect(r.ok).toBe(true);
    expect(diagnosticsOf(r)).toEqual([
      expect.objectContaining({ severity: 'warning', code: 'RULE_CONFLICT', file: 'comeback-premium.yaml', line: 6, column: 11 }),
    ]);
    expect(diagnosticsOf(r)[0]?.message).toMatch(/^rule `comeback-premium` is shadowed by `comeback-bundle`/);
  });

  it('a rule shadowed by a higher-priority rule without a condition (warning); a stronger one is not', () => {
    const catchAll = (sampleFiles()['level-milestone.yaml'] as string).replace('id: level-milestone', 'id: level-any').replace('priority: 60', 'priority: 70').replace(/ {2}when: .*\n/, '');
    const r = compileBundle({ ...sampleFiles(), 'level-any.yaml': catchAll });
    expect(diagnosticsOf(r).map((d) => [d.severity, d.file, d.message.slice(0, 49)])).toEqual([
      ['warning', 'level-milestone.yaml', 'rule `level-milestone` is shadowed by `level-any`'],
    ]);
    const narrower = catchAll.replace('trigger:\n  event: level.up\n', "trigger:\n  event: level.up\n  when: 'event.data.level == 50'\n");
    expect(diagnosticsOf(compileBundle({ ...sampleFiles(), 'level-any.yaml': narrower }))).toEqual([]);
  });

  it('an offer ttl longer than its cooldown (warning)', () => {
    const r = compileBundle(comeback((t) => t.replace('ttl: 15m', 'ttl: 48h')));
    expect(r.ok).toBe(true);
    expect(diagnosticsOf(r)).toEqual([
      expect.objectContaining({ severity: 'warning', code: 'RULE_CONFLICT', line: 15, column: 8, hint: 'make the ttl at most 1d or the cooldown longer' }),
    ]);
  });

  it('an unknown currency', () => {
    const d = only(comeback((t) => t.replace('currency: USD', 'currency: USX')));
    expect(d).toMatchObject({ code: 'RULE_REFERENCE', line: 13, column: 35, message: 'unknown currency `USX`' });
  });

  it('an unknown currency in a variant override', () => {
    const d = only(sampleWith('level-milestone.yaml', (t) => t.replace('amount: 399, currency: USD', 'amount: 399, currency: EUX')));
    expect(d).toMatchObject({ code: 'RULE_REFERENCE', file: 'level-milestone.yaml', line: 22, message: 'unknown currency `EUX`', hint: 'did you mean `EUR`?' });
  });

  it('experiment weights that do not add up to more than 0', () => {
    const d = only(comeback((t) => t.replace('weight: 10', 'weight: 0').replace('weight: 90', 'weight: 0')));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', line: 22, column: 5, message: 'experiment weights add up to 0; at least one variant needs a weight above 0' });
  });

  it('duplicate variant names', () => {
    const d = only(comeback((t) => t.replace('name: a,', 'name: control,')));
    expect(d).toMatchObject({ code: 'RULE_CONFLICT', line: 23, message: 'variant name `control` is used twice' });
  });

  it('a followUp naming an unknown rule', () => {
    const d = only(sampleWith('starter-pack.yaml', (t) => t.replace('rule: starter-pack-reminder', 'rule: starter-pack-remindr')));
    expect(d).toMatchObject({ code: 'RULE_REFERENCE', file: 'starter-pack.yaml', line: 22, column: 9, hint: 'did you mean `starter-pack-reminder`?' });
  });

  it('a followUp whose rule has another trigger event', () => {
    const d = only(sampleWith('starter-pack.yaml', (t) => t.replace('rule: starter-pack-reminder', 'rule: level-milestone')));
    expect(d).toMatchObject({ code: 'RULE_CONFLICT', line: 22, column: 9 });
    expect(d.message).toContain('triggers on `level.up`, but this rule on `store.open`');
  });

  it('a followUp chain that loops', () => {
    const files = sampleWith('starter-pack-reminder.yaml', (t) => `${t}followUp: { after: 5m, rule: starter-pack }\n`);
    const errors = diagnosticsOf(compileBundle(files)).filter((d) => d.severity === 'error');
    expect(errors.map((d) => [d.file, d.message])).toEqual([
      ['starter-pack-reminder.yaml', 'followUp chain loops back to `starter-pack-reminder`'],
      ['starter-pack.yaml', 'followUp chain loops back to `starter-pack`'],
    ]);
  });
});

describe('validation of properties, events and policy', () => {
  const props = (edit: (t: string) => string) => sampleWith('properties.yaml', edit);

  it("a property's when that reads player", () => {
    const d = only(props((t) => t.replace(`win_streak:     { streak: { event: match.end, when: 'event.data.result == "win"' } }`, `win_streak:     { streak: { event: match.end, when: 'player.level > 3' } }`)));
    expect(d).toMatchObject({ code: 'RULE_REFERENCE', file: 'properties.yaml', line: 6, column: 56 });
    expect(d.message).toContain("a property's `when` may read only `event`, not `player`: processors evaluate it before they update the player's state");
  });

  it('sum over a field that is not numeric', () => {
    const d = only(props((t) => t.replace('field: data.coins', 'field: data.sku')));
    expect(d).toMatchObject({ code: 'RULE_TYPE_ERROR', line: 8, column: 57, message: '`sum` needs a numeric (int or double) field; `data.sku` of `shop.purchase` is string' });
  });

  it('a field that the event does not declare', () => {
    const d = only(props((t) => t.replace('field: data.coins', 'field: data.coin')));
    expect(d).toMatchObject({ code: 'RULE_REFERENCE', line: 8, column: 57, message: 'event `shop.purchase` has no field `coin`', hint: 'did you mean `coins`?' });
  });

  it('a field path outside data', () => {
    const d = only(props((t) => t.replace('field: data.coins', 'field: coins')));
    expect(d.message).toBe('`field` must name an event data field like `data.coins`, not `coins`');
  });

  it('a window on a kind that takes none', () => {
    const d = only(props((t) => t.replace('field: data.score }', 'field: data.score, window: 1d }')));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', line: 11, column: 65, message: 'unknown key `window` in `properties.best_score.max`', hint: 'only count and sum take a window' });
  });

  it('an undeclared event', () => {
    const d = only(props((t) => t.replace('{ count: { event: match.end } }', '{ count: { event: match.ends } }')));
    expect(d).toMatchObject({ code: 'RULE_REFERENCE', line: 4, column: 37, message: 'event `match.ends` is not declared in events.yaml', hint: 'did you mean `match.end`?' });
  });

  it('two kinds on one property', () => {
    const d = only(props((t) => t.replace('{ count: { event: match.end } }', '{ count: { event: match.end }, last: { event: level.up, field: data.level } }')));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', line: 4, column: 19, message: 'property `matches_played` has 2 kinds (count, last); give it one' });
  });

  it('a property named like a built-in', () => {
    const d = only(props((t) => t.replace('  sessions_7d:', '  last_seen:')));
    expect(d).toMatchObject({ code: 'RULE_CONFLICT', line: 13, column: 3, message: '`last_seen` is a built-in player field' });
  });

  it('an event field with an unknown type, with "did you mean"', () => {
    const d = only(sampleWith('events.yaml', (t) => t.replace('duration_s: int', 'duration_s: integer')));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', file: 'events.yaml', line: 21, column: 19, hint: 'did you mean `int`?' });
  });

  it('an enum with a non-string type', () => {
    const d = only(sampleWith('events.yaml', (t) => t.replace('tab: { enum: [', 'tab: { type: int, enum: [')));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', line: 13, message: 'field `tab` has an enum, so its type is string, not int' });
  });

  it('a redeclared built-in event', () => {
    const d = only(sampleWith('events.yaml', (t) => `${t}  offer.shown: { data: { offerId: string } }\n`));
    expect(d).toMatchObject({ code: 'RULE_CONFLICT', line: 39, column: 3, message: '`offer.shown` is built in and cannot be redeclared' });
  });

  it('a holdout percent over 100', () => {
    const d = only(sampleWith('policy.yaml', (t) => t.replace('percent: 5', 'percent: 105')));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', file: 'policy.yaml', line: 7, column: 21, message: '`holdout.percent` must be <= 100, not 105' });
  });

  it('a retention shorter than a day, or not a duration', () => {
    const short = only(sampleWith('policy.yaml', (t) => t.replace('retention: 90d', 'retention: 2h')));
    expect(short).toMatchObject({ code: 'RULE_SCHEMA', file: 'policy.yaml', line: 13, message: '`retention` must be at least 1d, not `2h`' });
    const bad = only(sampleWith('policy.yaml', (t) => t.replace('retention: 90d', 'retention: 3 months')));
    expect(bad).toMatchObject({ code: 'RULE_SCHEMA', file: 'policy.yaml', line: 13 });
  });

  describe('the revenue event (lift against the holdout)', () => {
    const policy = (edit: (t: string) => string) => sampleWith('policy.yaml', edit);
    it('an undeclared revenue event, with "did you mean"', () => {
      const d = only(policy((t) => t.replace('event: shop.purchase', 'event: shop.purchse')));
      expect(d).toMatchObject({ severity: 'error', code: 'RULE_REFERENCE', file: 'policy.yaml', line: 9, column: 10, message: 'event `shop.purchse` is not declared in events.yaml', hint: 'did you mean `shop.purchase`?' });
    });
    it('a built-in offer event as the revenue event', () => {
      const d = only(policy((t) => t.replace('event: shop.purchase', 'event: offer.purchased')));
      expect(d).toMatchObject({ code: 'RULE_CONFLICT', line: 9, message: '`offer.purchased` is built in: purchases of offers count already' });
    });
    it('an amount field the event does not have, with "did you mean"', () => {
      const d = only(policy((t) => t.replace('amount: data.amount', 'amount: data.amuont')));
      expect(d).toMatchObject({ code: 'RULE_REFERENCE', line: 10, column: 11, message: 'event `shop.purchase` has no field `amuont`', hint: 'did you mean `amount`?' });
    });
    it('an amount that is not an int', () => {
      const d = only(policy((t) => t.replace('amount: data.amount', 'amount: data.sku')));
      expect(d).toMatchObject({ code: 'RULE_TYPE_ERROR', line: 10, message: '`amount` needs an int (minor units: 199 = 1.99); `data.sku` of `shop.purchase` is string' });
    });
    it('an amount that is not a data field', () => {
      const d = only(policy((t) => t.replace('amount: data.amount', 'amount: amount')));
      expect(d).toMatchObject({ code: 'RULE_SCHEMA', line: 10, message: '`amount` must name an event data field like `data.amount`, not `amount`' });
    });
    it('a currency field that is not a string', () => {
      const d = only(policy((t) => t.replace('currency: data.currency', 'currency: data.coins')));
      expect(d).toMatchObject({ code: 'RULE_TYPE_ERROR', line: 11, message: '`currency` needs a string (an ISO 4217 code); `data.coins` of `shop.purchase` is int' });
    });
    it('an unknown fixed currency, and a known one', () => {
      const d = only(policy((t) => t.replace('currency: data.currency', 'currency: EUX')));
      expect(d).toMatchObject({ code: 'RULE_REFERENCE', line: 11, message: 'unknown currency `EUX`', hint: 'did you mean `EUR`?' });
      const ok = compileBundle(policy((t) => t.replace('currency: data.currency', 'currency: EUR')));
      expect(ok.ok && ok.bundle.policy.revenue?.currency).toEqual({ code: 'EUR' });
    });
    it('a currency that is neither a code nor a field', () => {
      const d = only(policy((t) => t.replace('currency: data.currency', 'currency: euros')));
      expect(d).toMatchObject({ code: 'RULE_SCHEMA', line: 11, message: '`currency` must be an ISO 4217 code like USD or an event data field like data.currency, not `euros`' });
    });
    it('a zero window', () => {
      const d = only(policy((t) => t.replace('window: 7d', 'window: 0d')));
      expect(d).toMatchObject({ code: 'RULE_SCHEMA', line: 12, message: '`window` must be longer than 0' });
    });
    it('the default window is 7 days', () => {
      const r = compileBundle(policy((t) => t.replace(/ {2}window: 7d.*\n/, '')));
      expect(r.ok && r.bundle.policy.revenue?.windowMs).toBe(7 * 86_400_000);
    });
    it('warns when there is no holdout to compare with', () => {
      const r = compileBundle(policy((t) => t.replace('percent: 5', 'percent: 0')));
      expect(r.ok).toBe(true);
      expect(r.ok && r.warnings).toEqual([expect.objectContaining({ severity: 'warning', code: 'RULE_CONFLICT', line: 8, message: 'a revenue event without a holdout: lift has no baseline' })]);
    });
    it('no revenue block: no revenue event, no diagnostic', () => {
      const r = compileBundle(policy((t) => t.slice(0, t.indexOf('revenue:'))));
      expect(r.ok && r.bundle.policy.revenue).toBeNull();
      expect(r.ok && r.warnings).toEqual([]);
    });
  });

  it('an error in events.yaml is not repeated by every file that uses it', () => {
    const list = diagnosticsOf(compileBundle(sampleWith('events.yaml', (t) => t.replace('events:', 'event:'))));
    expect(list.map((d) => d.file)).toEqual(['events.yaml', 'events.yaml']);
  });
});

describe('limits', () => {
  it('refuses an alias bomb fast', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
      .concat(['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((k, i) => `${k}: &${k} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`))
      .join('\n');
    const t0 = performance.now();
    const d = only({ 'policy.yaml': bomb });
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(d).toMatchObject({ code: 'RULE_YAML', file: 'policy.yaml', line: 1, column: 1 });
    expect(d.message).toContain('expands too many aliases');
  });

  it('refuses deeply nested brackets before parsing them', () => {
    const d = only({ 'policy.yaml': `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n` });
    expect(d).toMatchObject({ code: 'RULE_YAML', line: 1, column: 68, message: 'brackets nest more than 64 levels deep' });
  });

  it('refuses a condition nested too deeply', () => {
    const d = only(comeback((t) => t.replace('player.loss_streak >= 3', `${'('.repeat(100)}player.loss_streak >= 3${')'.repeat(100)}`)));
    expect(d).toMatchObject({ code: 'RULE_TYPE_ERROR', line: 9 });
    expect(d.message).toMatch(/^CEL syntax error: Exceeded maxDepth/);
  });

  it('refuses a file over 256 KiB without parsing it', () => {
    const d = only({ 'big.yaml': `id: big\n# ${'x'.repeat(300 * 1024)}\n` });
    expect(d).toMatchObject({ code: 'RULE_YAML', file: 'big.yaml', message: 'file is over the 256 KiB limit' });
  });

  it('refuses more than 200 files', () => {
    const files = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`r${i}.yaml`, `id: r${i}\n`]));
    const r = compileBundle(files);
    expect(r.ok).toBe(false);
    expect(diagnosticsOf(r)).toEqual([expect.objectContaining({ code: 'RULE_SCHEMA', message: 'a bundle holds at most 200 files; this one has 201' })]);
  });

  it('refuses more than one document per file and names outside the folder', () => {
    expect(only({ 'policy.yaml': 'holdout: { percent: 1 }\n---\nholdout: { percent: 2 }\n' })).toMatchObject({ code: 'RULE_YAML', hint: 'each designer file holds one YAML document' });
    expect(only({ '../x.yaml': 'id: x\n' })).toMatchObject({ code: 'RULE_SCHEMA', file: '../x.yaml' });
  });
});

describe('schedule errors, at the line of the offending value', () => {
  /** The comeback rule with `schedule` appended (it starts on line 24). */
  const scheduled = (yaml: string) => comeback((t) => `${t}schedule:\n${yaml}`);
  const weekly = (windows: string, zone = 'Europe/Berlin') => scheduled(`  timeZone: ${zone}\n  weekly:\n${windows}`);

  it('the example of docs/designers.md, "Schedules", compiles with the sample game', () => {
    const guide = readFileSync(new URL('../docs/designers.md', import.meta.url), 'utf8');
    const example = /### Schedules[\s\S]*?```yaml\n([\s\S]*?)```/.exec(guide)?.[1] ?? '';
    const r = compileBundle({ ...sampleFiles(), 'weekend-bundle.yaml': example });
    expect(diagnosticsOf(r)).toEqual([]);
    expect(r.ok && r.bundle.rules.find((x) => x.id === 'weekend-bundle')?.schedule?.spec.timeZone).toBe('Europe/Berlin');
  });

  it('a valid schedule compiles into the rule', () => {
    const r = compileBundle(weekly('    - { days: [sat, sun], from: "10:00", to: "22:00" }\n'));
    expect(r.ok).toBe(true);
    const rule = r.ok ? r.bundle.rules.find((x) => x.id === 'comeback-bundle') : undefined;
    expect(rule?.schedule?.spec).toEqual({ start: null, end: null, timeZone: 'Europe/Berlin', weekly: [{ days: ['sun', 'sat'], fromMin: 600, toMin: 1320 }] });
  });

  it('end before start', () => {
    const d = only(scheduled('  start: "2026-12-24T18:00:00+01:00"\n  end: "2026-12-24T17:00:00Z"\n'));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', line: 26, column: 8, hint: 'make end later than start' });
    expect(d.message).toBe('`schedule.end` 2026-12-24T17:00:00Z is not after `schedule.start` 2026-12-24T18:00:00+01:00: the rule would never apply');
  });

  it('an instant without an offset, or not on the calendar', () => {
    expect(only(scheduled('  start: "2026-12-24T18:00:00"\n'))).toMatchObject({ code: 'RULE_SCHEMA', line: 25, column: 10 });
    expect(only(scheduled('  start: "2026-13-40T18:00:00Z"\n'))).toMatchObject({ code: 'RULE_SCHEMA', line: 25, message: '`schedule.start` is not a real instant: 2026-13-40T18:00:00Z' });
  });

  it('an empty window', () => {
    const d = only(weekly('    - { days: [sat], from: "10:00", to: "10:00" }\n'));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', line: 27, message: 'the window 10:00–10:00 is empty: `to` equals `from`' });
  });

  it('a window across midnight, with the split as hint', () => {
    const d = only(weekly('    - { days: [sat], from: "22:00", to: "02:00" }\n'));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', line: 27, hint: 'split it in two: 22:00–24:00 on one day and 00:00–02:00 on the next' });
  });

  it('overlapping windows on the same day', () => {
    const d = only(weekly('    - { days: [sat, sun], from: "10:00", to: "14:00" }\n    - { days: [sun], from: "13:00", to: "18:00" }\n'));
    expect(d).toMatchObject({ code: 'RULE_CONFLICT', line: 28, column: 7, message: 'weekly windows 1 and 2 overlap on sun' });
    expect(compileBundle(weekly('    - { days: [sat], from: "10:00", to: "14:00" }\n    - { days: [sat], from: "14:00", to: "18:00" }\n')).ok).toBe(true);
  });

  it('an unknown time zone, with "did you mean"', () => {
    const d = only(weekly('    - { days: [sat], from: "10:00", to: "22:00" }\n', 'Europe/Berlln'));
    expect(d).toMatchObject({ code: 'RULE_REFERENCE', line: 25, column: 13, message: 'unknown time zone `Europe/Berlln`', hint: 'did you mean `Europe/Berlin`?' });
  });

  it('a bad day name', () => {
    const d = only(weekly('    - { days: [sat, sunday], from: "10:00", to: "22:00" }\n'));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', line: 27, column: 21 });
    expect(d.message).toContain('sun');
  });

  it('a bad time format', () => {
    const d = only(weekly('    - { days: [sat], from: "9:00", to: "22:00" }\n'));
    expect(d).toMatchObject({ code: 'RULE_SCHEMA', line: 27, column: 28 });
    expect(d.message).toContain('HH:MM');
    expect(only(weekly('    - { days: [sat], from: "24:00", to: "24:00" }\n'))).toMatchObject({ code: 'RULE_SCHEMA', line: 27, message: '`from` must be a time of day from 00:00 to 23:59, not 24:00' });
  });
});

describe('playerTimeZone errors', () => {
  /** The sample with a string property `tz` (from session.start) and the comeback rule's schedule in the player's zone. */
  const local = (schedule: string) => {
    const files = sampleWith('comeback-bundle.yaml', (t) => `${t}schedule:\n${schedule}`);
    files['events.yaml'] = (files['events.yaml'] ?? '').replace('      app_version: string', '      app_version: string\n      tz: string');
    files['properties.yaml'] = `${files['properties.yaml'] ?? ''}  tz:             { last: { event: session.start, field: data.tz } }\n`;
    return files;
  };
  const weekend = '  weekly:\n    - { days: [sat, sun], from: "10:00", to: "22:00" }\n';

  it('a string player property compiles into the schedule', () => {
    const r = compileBundle(local(`  playerTimeZone: tz\n${weekend}`));
    expect(r.ok, JSON.stringify(diagnosticsOf(r))).toBe(true);
    expect(r.ok ? r.bundle.rules.find((x) => x.id === 'comeback-bundle')?.schedule?.spec.playerTimeZone : null).toBe('tz');
  });

  it('an undeclared property, a property that is not a string, no weekly windows', () => {
    expect(only(local(`  playerTimeZone: timezone\n${weekend}`))).toMatchObject({ code: 'RULE_REFERENCE', line: 25, column: 19, message: '`player` has no property `timezone`; it is not declared in properties.yaml' });
    expect(only(local(`  playerTimeZone: level\n${weekend}`))).toMatchObject({ code: 'RULE_TYPE_ERROR', line: 25, message: '`player.level` is int; a time zone is a string like "Europe/Berlin"' });
    expect(only(local('  playerTimeZone: tz\n  start: "2026-12-24T18:00:00Z"\n'))).toMatchObject({ code: 'RULE_SCHEMA', line: 25 });
  });
});
