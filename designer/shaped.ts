import { celErrorSummary, checkExpression, runnable, type ConditionCache, type ConditionProblem, type ConditionScope } from './cel.ts';
import type { ConditionInput, ShapedNumberField, ShapedResult, ShapedSpec } from './types.ts';

/**
 * Shaped offer fields (docs/designers.md, "Offers shaped per player"): `price.amount`,
 * `discountPct` and `quantity` computed by a numeric CEL expression and held inside declared
 * bounds, and a `title` rendered from a template with `{{ cel }}` placeholders. Compiled once
 * per bundle; evaluated in process, once per offer made. A value is never left unbounded: a
 * runtime error (division by zero, a property the player does not have yet) gives the
 * declared `default`.
 */

/** The bounds of a computed number, as written in the rule. */
export interface NumberBounds {
  readonly min: number;
  readonly max: number;
  readonly round: number | null;
}

/** Integral fields are rounded to a whole number even without `round`. */
export const INTEGRAL_FIELDS: ReadonlySet<ShapedNumberField> = new Set<ShapedNumberField>(['price.amount', 'quantity']);

/** A rendered title is cut to this many characters (the static title's limit). */
export const TITLE_MAX_CHARS = 200;

/** A problem of one shaped field, at a character offset of the expression or template. */
export interface ShapedProblem extends ConditionProblem {
  /** Offset of the failing expression inside the template (0 for a plain expression). */
  readonly base: number;
}

/** Rounds `raw` to a multiple of `round` (to a whole number for integral fields) and clamps it to [min, max]. Pure. */
export function boundValue(raw: number, b: NumberBounds, integral: boolean): { value: number; clamped: boolean } {
  let v = raw;
  if (b.round !== null) v = tidy(Math.round(v / b.round) * b.round);
  if (integral) v = Math.round(v);
  const value = Math.min(b.max, Math.max(b.min, v));
  return { value, clamped: value !== v };
}

/** Drops the binary noise of decimal steps: 0.1 * 3 is 0.3, not 0.30000000000000004. */
function tidy(v: number): number {
  return Number.parseFloat(v.toPrecision(12));
}

/** The parts of a title template: literal text and `{{ expression }}` placeholders with their offsets. */
export type TemplatePart = { readonly text: string } | { readonly expr: string; readonly offset: number };

/** Splits a template; an unclosed `{{` is an error (its offset). */
export function parseTemplate(template: string): { parts: TemplatePart[] } | { error: string; offset: number } {
  const parts: TemplatePart[] = [];
  let pos = 0;
  while (pos < template.length) {
    const open = template.indexOf('{{', pos);
    if (open < 0) {
      parts.push({ text: template.slice(pos) });
      break;
    }
    if (open > pos) parts.push({ text: template.slice(pos, open) });
    const close = template.indexOf('}}', open + 2);
    if (close < 0) return { error: 'a `{{` placeholder is not closed with `}}`', offset: open };
    const inner = template.slice(open + 2, close);
    const lead = inner.length - inner.trimStart().length;
    if (inner.trim() === '') return { error: 'an empty `{{ }}` placeholder', offset: open };
    parts.push({ expr: inner.trim(), offset: open + 2 + lead });
    pos = close + 2;
  }
  return { parts };
}

/** Renders one placeholder value: text as is, numbers in plain decimal, bools as true/false; `{ error }` for anything else. */
export function renderValue(v: unknown): string | { error: string } {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? String(tidy(v)) : { error: `the placeholder gave ${String(v)}` };
  if (typeof v === 'boolean') return String(v);
  return { error: `the placeholder gave ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v}, not text or a number` };
}

const NUMERIC = new Set(['int', 'double', 'dyn']);
const RENDERABLE = new Set(['string', 'int', 'double', 'bool', 'dyn']);

/** Compiles a computed number; never throws. */
export function compileShapedNumber(
  field: ShapedNumberField,
  source: string,
  bounds: NumberBounds,
  fallback: number,
  scope: ConditionScope,
  cache: ConditionCache,
): { ok: true; spec: ShapedSpec } | { ok: false; problems: ShapedProblem[] } {
  const checked = checkExpression(source, scope, cache);
  if (!checked.ok) return { ok: false, problems: checked.problems.map((p) => ({ ...p, base: 0 })) };
  if (!NUMERIC.has(checked.type)) {
    return {
      ok: false,
      problems: [
        {
          code: 'RULE_TYPE_ERROR',
          offset: 0,
          base: 0,
          message: `\`${field}\` is computed by an expression of type ${checked.type.startsWith('$') ? 'map' : checked.type}; it must be a number (int or double)`,
          hint: checked.type === 'string' ? 'read a numeric property, or convert with double(…) or int(…)' : 'e.g. `player.revenue_30d / 10`',
        },
      ],
    };
  }
  const { run, reads } = runnable(source, checked.ast, scope, cache);
  const integral = INTEGRAL_FIELDS.has(field);
  const spec: ShapedSpec = {
    field,
    source,
    bounds,
    fallback,
    reads,
    evaluate(input: ConditionInput): ShapedResult {
      let raw: number | { error: string };
      try {
        raw = toNumber(run(input));
      } catch (err) {
        raw = { error: celErrorSummary(err) };
      }
      if (typeof raw !== 'number') return { value: fallback, outcome: 'fallback', error: raw.error };
      const { value, clamped } = boundValue(raw, bounds, integral);
      return { value, outcome: clamped ? 'clamped' : 'computed', computed: raw };
    },
  };
  return { ok: true, spec };
}

/** Compiles a title template; never throws. */
export function compileShapedTitle(template: string, fallback: string, scope: ConditionScope, cache: ConditionCache): { ok: true; spec: ShapedSpec } | { ok: false; problems: ShapedProblem[] } {
  const parsed = parseTemplate(template);
  if ('error' in parsed) return { ok: false, problems: [{ code: 'RULE_TYPE_ERROR', offset: 0, base: parsed.offset, message: `title template: ${parsed.error}`, hint: 'e.g. "Back for more, level {{ player.level }}?"' }] };
  const problems: ShapedProblem[] = [];
  const pieces: ({ text: string } | { run: (input: ConditionInput) => unknown })[] = [];
  const reads = new Set<string>();
  for (const part of parsed.parts) {
    if ('text' in part) {
      pieces.push({ text: part.text });
      continue;
    }
    const checked = checkExpression(part.expr, scope, cache);
    if (!checked.ok) {
      problems.push(...checked.problems.map((p) => ({ ...p, base: part.offset })));
      continue;
    }
    if (!RENDERABLE.has(checked.type)) {
      problems.push({ code: 'RULE_TYPE_ERROR', offset: 0, base: part.offset, message: `the placeholder \`{{ ${part.expr} }}\` is of type ${checked.type.startsWith('$') ? 'map' : checked.type}; a title shows text, numbers or bools`, hint: 'read one field of it' });
      continue;
    }
    const r = runnable(part.expr, checked.ast, scope, cache);
    r.reads.forEach((p) => reads.add(p));
    pieces.push({ run: r.run });
  }
  if (problems.length > 0) return { ok: false, problems };
  const spec: ShapedSpec = {
    field: 'title',
    source: template,
    bounds: null,
    fallback,
    reads: [...reads],
    evaluate(input: ConditionInput): ShapedResult {
      let out = '';
      for (const p of pieces) {
        let piece: string | { error: string };
        try {
          piece = 'text' in p ? p.text : renderValue(p.run(input));
        } catch (err) {
          piece = { error: celErrorSummary(err) };
        }
        if (typeof piece !== 'string') return { value: fallback, outcome: 'fallback', error: piece.error };
        out += piece;
      }
      const value = out.length > TITLE_MAX_CHARS ? out.slice(0, TITLE_MAX_CHARS) : out;
      return { value, outcome: value === out ? 'computed' : 'clamped', computed: out };
    },
  };
  return { ok: true, spec };
}

/** A CEL number as a finite JS number, or `{ error }`. */
function toNumber(v: unknown): number | { error: string } {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number') return { error: `the expression gave ${v === null ? 'null' : typeof v}, not a number` };
  return Number.isFinite(n) ? n : { error: `the expression gave ${String(n)}` };
}
