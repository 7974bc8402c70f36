import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileBundle } from './compile.ts';
import { boundValue, parseTemplate, renderValue } from './shaped.ts';
import { sampleBundle, sampleFiles } from './testing/sample.ts';
import type { Diagnostic, Rule } from './types.ts';

/** The sample game with one more rule file, `shaped.yaml`, whose `offer:` block is `offer`. */
function withRule(offer: string, extra = ''): { ok: true; rule: Rule } | { ok: false; errors: Diagnostic[] } {
  const text = ['id: shaped', 'trigger:', '  event: session.start', 'offer:', ...offer.split('\n').map((l) => `  ${l}`), '  ttl: 1h', extra].join('\n');
  const r = compileBundle({ ...sampleFiles(), 'shaped.yaml': text });
  if (!r.ok) return { ok: false, errors: r.diagnostics.filter((d) => d.severity === 'error') };
  const rule = r.bundle.rules.find((x) => x.id === 'shaped');
  if (!rule) throw new Error('rule shaped missing'); // programmer error: test helper
  return { ok: true, rule };
}

function errorsOf(offer: string, extra = ''): string[] {
  const r = withRule(offer, extra);
  return r.ok ? [] : r.errors.map((d) => `${d.file}:${d.line}:${d.column} ${d.code} ${d.message}`);
}

const input = (player: Record<string, unknown>) => ({ event: { type: 'session.start', id: 'e1', ts: 0, data: {} }, player });

describe('bounds of a computed number', () => {
  it('rounds to the nearest multiple of `round`, then clamps to [min, max]', () => {
    const b = { min: 99, max: 1999, round: 50 };
    expect(boundValue(1234.5, b, true)).toEqual({ value: 1250, clamped: false });
    expect(boundValue(1224, b, true)).toEqual({ value: 1200, clamped: false });
    expect(boundValue(2400, b, true)).toEqual({ value: 1999, clamped: true });
    expect(boundValue(10, b, true)).toEqual({ value: 99, clamped: true });
  });

  it('rounds integral fields to a whole number without `round`, leaves others alone', () => {
    expect(boundValue(12.6, { min: 1, max: 100, round: null }, true)).toEqual({ value: 13, clamped: false });
    expect(boundValue(12.6, { min: 0, max: 100, round: null }, false)).toEqual({ value: 12.6, clamped: false });
    expect(boundValue(33.33, { min: 0, max: 100, round: 0.5 }, false)).toEqual({ value: 33.5, clamped: false });
    expect(boundValue(0.1 * 3, { min: 0, max: 1, round: 0.1 }, false)).toEqual({ value: 0.3, clamped: false });
  });
});

describe('title templates', () => {
  it('split into text and placeholders with their offsets', () => {
    expect(parseTemplate('Level {{ player.level }} pack')).toEqual({ parts: [{ text: 'Level ' }, { expr: 'player.level', offset: 9 }, { text: ' pack' }] });
    expect(parseTemplate('no placeholders')).toEqual({ parts: [{ text: 'no placeholders' }] });
    expect(parseTemplate('Hi {{ player.id')).toEqual({ error: 'a `{{` placeholder is not closed with `}}`', offset: 3 });
    expect(parseTemplate('Hi {{  }}')).toEqual({ error: 'an empty `{{ }}` placeholder', offset: 3 });
  });

  it('render text, ints, doubles and bools; refuse other values', () => {
    expect(renderValue('x')).toBe('x');
    expect(renderValue(12n)).toBe('12');
    expect(renderValue(0.1 + 0.2)).toBe('0.3');
    expect(renderValue(true)).toBe('true');
    expect(renderValue(null)).toEqual({ error: 'the placeholder gave null, not text or a number' });
    expect(renderValue(Number.POSITIVE_INFINITY)).toEqual({ error: 'the placeholder gave Infinity' });
  });
});

describe('compiling shaped offer fields', () => {
  it('compiles a computed price; its static amount is the default', () => {
    const r = withRule("sku: s\nprice: { amount: { expr: 'double(player.revenue_30d) * 1.2', min: 99, max: 1999, round: 50, default: 499 }, currency: USD }");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.rule.offer.price).toEqual({ amount: 499, currency: 'USD' });
    const [spec] = r.rule.offer.shaped ?? [];
    expect(spec).toMatchObject({ field: 'price.amount', source: 'double(player.revenue_30d) * 1.2', bounds: { min: 99, max: 1999, round: 50 }, fallback: 499, reads: ['player.revenue_30d'] });
    expect(spec?.evaluate(input({ revenue_30d: 1000 }))).toEqual({ value: 1200, outcome: 'computed', computed: 1200 });
    expect(spec?.evaluate(input({ revenue_30d: 5000 }))).toEqual({ value: 1999, outcome: 'clamped', computed: 6000 });
    expect(spec?.evaluate(input({}))).toMatchObject({ value: 499, outcome: 'fallback', error: expect.stringContaining('revenue_30d') });
  });

  it('falls back on a division by zero', () => {
    const r = withRule("sku: s\nprice: { amount: 100, currency: USD }\nquantity: { expr: '100 / player.purchases', min: 1, max: 10, default: 2 }");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const spec = r.rule.offer.shaped?.[0];
    expect(r.rule.offer.quantity).toBe(2);
    expect(spec?.evaluate(input({ purchases: 20 }))).toEqual({ value: 5, outcome: 'computed', computed: 5 });
    expect(spec?.evaluate(input({ purchases: 0 }))).toMatchObject({ value: 2, outcome: 'fallback', error: expect.stringMatching(/division by zero/i) });
  });

  it('renders a title template, falling back to its default', () => {
    const r = withRule("sku: s\ntitle: { template: 'Level {{ player.level }} pack, {{ player.sessions_7d }} sessions', default: Level pack }\nprice: { amount: 100, currency: USD }");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.rule.offer.title).toBe('Level pack');
    const spec = r.rule.offer.shaped?.[0];
    expect(spec?.reads).toEqual(['player.level', 'player.sessions_7d']);
    expect(spec?.evaluate(input({ level: 7, sessions_7d: 2 }))).toEqual({ value: 'Level 7 pack, 2 sessions', outcome: 'computed', computed: 'Level 7 pack, 2 sessions' });
    expect(spec?.evaluate(input({ sessions_7d: 2 }))).toMatchObject({ value: 'Level pack', outcome: 'fallback' });
  });

  it('refuses a non-numeric expression with file:line:col', () => {
    expect(errorsOf("sku: s\nprice: { amount: { expr: 'player.id', min: 1, max: 5, default: 2 }, currency: USD }")).toEqual([
      'shaped.yaml:6:29 RULE_TYPE_ERROR `price.amount` is computed by an expression of type string; it must be a number (int or double)',
    ]);
  });

  it('refuses an undeclared property inside an expression, at its column', () => {
    expect(errorsOf("sku: s\nprice: { amount: 100, currency: USD }\ndiscountPct: { expr: 'player.avg_purchase * 2', min: 0, max: 50, default: 10 }")).toEqual([
      'shaped.yaml:7:32 RULE_REFERENCE `player` has no field `avg_purchase`; it is not declared in properties.yaml',
    ]);
  });

  it('refuses min above max, a default outside the bounds and a fractional round of a whole-number field', () => {
    expect(errorsOf("sku: s\nprice: { amount: { expr: '1', min: 500, max: 100, default: 200 }, currency: USD }")).toEqual(['shaped.yaml:6:48 RULE_SCHEMA `price.amount`: max 100 is below min 500']);
    expect(errorsOf("sku: s\nprice: { amount: { expr: '1', min: 100, max: 500, default: 900 }, currency: USD }")).toEqual([
      'shaped.yaml:6:62 RULE_SCHEMA `price.amount`: default 900 is outside min 100 and max 500',
    ]);
    expect(errorsOf("sku: s\nprice: { amount: { expr: '1', min: 100, max: 500, round: 2.5, default: 200 }, currency: USD }")).toEqual([
      'shaped.yaml:6:60 RULE_SCHEMA `price.amount` is a whole number: round must be one too, not 2.5',
    ]);
  });

  it('requires min, max and default, and a positive round', () => {
    const errors = withRule("sku: s\nprice: { amount: { expr: '1', min: 1, round: 0 }, currency: USD }");
    expect(errors.ok).toBe(false);
    if (errors.ok) return;
    expect(errors.errors.every((d) => d.code === 'RULE_SCHEMA' && d.line === 6)).toBe(true);
    expect(errors.errors.length).toBeGreaterThan(0);
  });

  it('refuses a template placeholder of the wrong type or an unclosed one, and placeholders in a plain title', () => {
    expect(errorsOf("sku: s\ntitle: { template: 'Hi {{ player.id + 1 }}', default: Hi }\nprice: { amount: 1, currency: USD }")).toEqual([
      'shaped.yaml:6:29 RULE_TYPE_ERROR type mismatch: no operator for string + int',
    ]);
    expect(errorsOf("sku: s\ntitle: { template: 'Hi {{ player.id', default: Hi }\nprice: { amount: 1, currency: USD }")).toEqual([
      'shaped.yaml:6:26 RULE_TYPE_ERROR title template: a `{{` placeholder is not closed with `}}`',
    ]);
    expect(errorsOf("sku: s\ntitle: 'Hi {{ player.id }}'\nprice: { amount: 1, currency: USD }")).toEqual([
      'shaped.yaml:6:10 RULE_SCHEMA a plain `title` is shown as written; `{{ … }}` placeholders need the template form',
    ]);
  });

  it("gives an arm that overrides price the rule's other shaped fields and its own price", () => {
    const r = withRule(
      "sku: s\nprice: { amount: { expr: 'player.purchases * 100', min: 100, max: 900, default: 300 }, currency: USD }\nquantity: { expr: 'player.purchases', min: 1, max: 5, default: 1 }",
      'experiment:\n  variants:\n    - { name: fixed, weight: 1, offer: { price: { amount: 250, currency: USD } } }\n    - { name: same, weight: 1 }',
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [fixed, same] = r.rule.experiment?.variants ?? [];
    expect(fixed?.offer.shaped?.map((s) => s.field)).toEqual(['quantity']);
    expect(same?.offer.shaped).toBeUndefined();
    expect(r.rule.offer.shaped?.map((s) => s.field)).toEqual(['price.amount', 'quantity']);
  });

  it('keeps the sample whale rule personalized', () => {
    const whale = sampleBundle().rules.find((x) => x.id === 'whale-reengagement');
    expect(whale?.offer.shaped?.map((s) => [s.field, s.bounds])).toEqual([['price.amount', { min: 999, max: 2999, round: 50 }]]);
    expect(whale?.offer.shaped?.[0]?.evaluate(input({ revenue_30d: 6200 }))).toEqual({ value: 1550, outcome: 'computed', computed: 1550 });
  });
});

describe('the guide', () => {
  it('the example of docs/designers.md, "Offers shaped per player", compiles with the sample game', () => {
    const guide = readFileSync(new URL('../docs/designers.md', import.meta.url), 'utf8');
    const example = /### Offers shaped per player[\s\S]*?```yaml\n([\s\S]*?)```/.exec(guide)?.[1] ?? '';
    const r = compileBundle({ ...sampleFiles(), 'whale-comeback.yaml': example });
    expect(r.ok ? [] : r.diagnostics).toEqual([]);
    const rule = r.ok ? r.bundle.rules.find((x) => x.id === 'whale-comeback') : undefined;
    expect(rule?.offer.shaped?.map((s) => s.field)).toEqual(['title', 'price.amount', 'discountPct', 'quantity']);
  });

  it('the editor schema (offers/schemas/rule.schema.json) offers the computed form of every shaped field', () => {
    type Node = { properties?: Record<string, Node>; anyOf?: Node[]; required?: string[] };
    const schema = JSON.parse(readFileSync(new URL('../offers/schemas/rule.schema.json', import.meta.url), 'utf8')) as Node;
    const offer = schema.properties?.offer?.properties ?? {};
    const computed = (n: Node | undefined) => n?.anyOf?.find((x) => x.properties?.expr)?.required?.slice().sort();
    for (const field of [offer.price?.properties?.amount, offer.discountPct, offer.quantity]) expect(computed(field)).toEqual(['default', 'expr', 'max', 'min']);
    expect(offer.title?.anyOf?.find((x) => x.properties?.template)?.required?.slice().sort()).toEqual(['default', 'template']);
  });
});

