import type { ConditionCache, ConditionScope } from './cel.ts';
import { diagnostic, type DiagnosticCode } from './diagnostics.ts';
import { parseDuration } from './duration.ts';
import type { RuleFile } from './schemas.ts';
import { compileShapedNumber, compileShapedTitle, INTEGRAL_FIELDS, type ShapedProblem } from './shaped.ts';
import type { Diagnostic, RuleOffer, ShapedField, ShapedNumberField, ShapedSpec } from './types.ts';
import type { PathSegment, YamlFile } from './yaml-doc.ts';

/**
 * The offer of a rule file, or one experiment arm's overrides, as the engine reads it: static
 * fields as written, shaped fields (designer/shaped.ts) compiled with their bounds checked.
 * A shaped field's static value is its `default`, so whatever reads the offer without a
 * player (listings, diffs) sees the fallback value.
 */

type OfferInput = RuleFile['offer'];
type OverrideInput = NonNullable<NonNullable<RuleFile['experiment']>['variants'][number]['offer']>;
type Computed = { expr: string; min: number; max: number; round?: number; default: number };
type Title = NonNullable<OfferInput['title']>;

export interface OfferFieldsContext {
  readonly yaml: YamlFile;
  /** The scope of the rule's condition; null when its trigger event is unknown (already reported). */
  readonly scope: ConditionScope | null;
  readonly cache: ConditionCache;
  readonly diagnostics: Diagnostic[];
}

export function toOffer(o: OfferInput, ctx: OfferFieldsContext): RuleOffer {
  const shaped: ShapedSpec[] = [];
  const at: PathSegment[] = ['offer'];
  const offer: RuleOffer = {
    sku: o.sku,
    title: o.title === undefined ? null : title(o.title, at, ctx, shaped),
    price: { amount: number('price.amount', o.price.amount, [...at, 'price', 'amount'], ctx, shaped), currency: o.price.currency },
    discountPct: o.discountPct === undefined ? null : number('discountPct', o.discountPct, [...at, 'discountPct'], ctx, shaped),
    ttlMs: parseDuration(o.ttl) ?? 0,
    data: o.data ?? null,
  };
  const quantity = o.quantity === undefined ? null : number('quantity', o.quantity, [...at, 'quantity'], ctx, shaped);
  return { ...offer, ...(quantity !== null ? { quantity } : {}), ...(shaped.length > 0 ? { shaped } : {}) };
}

/**
 * The fields an arm overrides. An arm that sets a field replaces the rule's value of it,
 * static or shaped, whole: its `shaped` is the rule's shaped fields it leaves alone, then its own.
 */
export function toOverride(o: OverrideInput, index: number, rule: RuleOffer, ctx: OfferFieldsContext): Partial<RuleOffer> {
  const at: PathSegment[] = ['experiment', 'variants', index, 'offer'];
  const own: ShapedSpec[] = [];
  const out: { -readonly [K in keyof RuleOffer]?: RuleOffer[K] } = {};
  const overridden = new Set<ShapedField>();
  if (o.sku !== undefined) out.sku = o.sku;
  if (o.title !== undefined) {
    out.title = title(o.title, at, ctx, own);
    overridden.add('title');
  }
  if (o.price !== undefined) {
    out.price = { amount: number('price.amount', o.price.amount, [...at, 'price', 'amount'], ctx, own), currency: o.price.currency };
    overridden.add('price.amount');
  }
  if (o.discountPct !== undefined) {
    out.discountPct = number('discountPct', o.discountPct, [...at, 'discountPct'], ctx, own);
    overridden.add('discountPct');
  }
  if (o.quantity !== undefined) {
    out.quantity = number('quantity', o.quantity, [...at, 'quantity'], ctx, own);
    overridden.add('quantity');
  }
  if (o.data !== undefined) out.data = o.data;
  if (overridden.size > 0) out.shaped = [...(rule.shaped ?? []).filter((s) => !overridden.has(s.field)), ...own];
  return out;
}

function report(ctx: OfferFieldsContext, path: PathSegment[], code: DiagnosticCode, message: string, hint?: string): void {
  ctx.diagnostics.push(diagnostic('error', code, ctx.yaml.file, ctx.yaml.at(path), message, hint));
}

function problems(ctx: OfferFieldsContext, path: PathSegment[], list: readonly ShapedProblem[]): void {
  for (const p of list) ctx.diagnostics.push(diagnostic('error', p.code, ctx.yaml.file, ctx.yaml.charAt(path, p.base + p.offset), p.message, p.hint));
}

/** A static number as is; a computed one checked, compiled into `shaped`, and its default returned. */
function number(field: ShapedNumberField, v: number | Computed, path: PathSegment[], ctx: OfferFieldsContext, shaped: ShapedSpec[]): number {
  if (typeof v === 'number') return v;
  const errorsBefore = ctx.diagnostics.length;
  if (v.min > v.max) report(ctx, [...path, 'max'], 'RULE_SCHEMA', `\`${field}\`: max ${v.max} is below min ${v.min}`, 'min is the lowest value a player can see, max the highest');
  else if (v.default < v.min || v.default > v.max) report(ctx, [...path, 'default'], 'RULE_SCHEMA', `\`${field}\`: default ${v.default} is outside min ${v.min} and max ${v.max}`, 'the fallback must be a value the bounds allow');
  if (v.round !== undefined && INTEGRAL_FIELDS.has(field) && !Number.isInteger(v.round)) {
    report(ctx, [...path, 'round'], 'RULE_SCHEMA', `\`${field}\` is a whole number: round must be one too, not ${v.round}`, field === 'price.amount' ? 'e.g. round: 50 for steps of 0.50 in minor units' : 'e.g. round: 5');
  }
  if (ctx.scope && ctx.diagnostics.length === errorsBefore) {
    const c = compileShapedNumber(field, v.expr, { min: v.min, max: v.max, round: v.round ?? null }, v.default, ctx.scope, ctx.cache);
    if (c.ok) shaped.push(c.spec);
    else problems(ctx, [...path, 'expr'], c.problems);
  }
  return v.default;
}

function title(t: Title, at: PathSegment[], ctx: OfferFieldsContext, shaped: ShapedSpec[]): string {
  if (typeof t === 'string') {
    if (t.includes('{{')) {
      report(ctx, [...at, 'title'], 'RULE_SCHEMA', 'a plain `title` is shown as written; `{{ … }}` placeholders need the template form', `title: { template: ${JSON.stringify(t)}, default: "…" }`);
    }
    return t;
  }
  if (ctx.scope) {
    const c = compileShapedTitle(t.template, t.default, ctx.scope, ctx.cache);
    if (c.ok) shaped.push(c.spec);
    else problems(ctx, [...at, 'title', 'template'], c.problems);
  }
  return t.default;
}
