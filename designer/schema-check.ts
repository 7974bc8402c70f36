import type { z } from 'zod';
import { diagnostic } from './diagnostics.ts';
import { didYouMean } from './suggest.ts';
import type { Diagnostic } from './types.ts';
import type { PathSegment, YamlFile } from './yaml-doc.ts';

type Issue = z.core.$ZodIssue;

/** Hints for keys that are valid somewhere, just not where they were written. */
const KEY_HINTS: Record<string, string> = {
  window: 'only count and sum take a window',
  field: 'only sum, min, max and last read a field',
  weight: 'weights belong to experiment.variants entries',
};

/**
 * Validates a parsed file against its schema. Every zod issue becomes a RULE_SCHEMA
 * diagnostic at the YAML node its path names (the key, for unknown and missing keys).
 */
export function checkSchema<T>(yaml: YamlFile, schema: z.ZodType<T>): { value: T | null; diagnostics: Diagnostic[] } {
  const result = schema.safeParse(yaml.value ?? {});
  if (result.success) return { value: result.data, diagnostics: [] };
  const diagnostics: Diagnostic[] = [];
  for (const issue of flatten(result.error.issues)) diagnostics.push(...toDiagnostics(yaml, issue, schema));
  return { value: null, diagnostics: dedupe(diagnostics) };
}

/** Picks, for each union, the branch that got furthest, so messages name the real problem. */
function flatten(issues: readonly Issue[], base: readonly PropertyKey[] = []): Issue[] {
  const out: Issue[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branches = issue.errors.map((b) => flatten(b, path));
      const score = (b: Issue[]) => Math.max(...b.map((i) => i.path.length + (i.code === 'invalid_type' ? 0 : 0.5)));
      const best = branches.reduce((a, b) => (score(b) > score(a) ? b : a));
      out.push(...best);
    } else {
      out.push({ ...issue, path } as Issue);
    }
  }
  return out;
}

function toDiagnostics(yaml: YamlFile, issue: Issue, schema: z.ZodType): Diagnostic[] {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)) as PathSegment[];
  const where = describe(path);
  const actual = valueAt(yaml.value, path);
  const err = (pos: { line: number; column: number }, message: string, hint?: string) =>
    diagnostic('error', 'RULE_SCHEMA', yaml.file, pos, message, hint);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const known = knownKeys(schema, path);
        return err(
          yaml.keyAt([...path, key]),
          `unknown key \`${key}\`${path.length ? ` in ${where}` : ''}`,
          KEY_HINTS[key] ?? didYouMean(key, known) ?? (known.length ? `allowed: ${known.join(', ')}` : undefined),
        );
      });
    case 'invalid_type': {
      if (actual === undefined) {
        const key = path[path.length - 1];
        return [err(yaml.at(path.slice(0, -1)), `${where} is required`, key !== undefined ? `add \`${String(key)}:\`` : undefined)];
      }
      return [err(yaml.at(path), `${where} must be ${article(issue.expected)}, not ${show(actual)}`)];
    }
    case 'invalid_value':
      return [
        err(
          yaml.at(path),
          `${where} must be one of ${issue.values.map((v) => String(v)).join(', ')}, not ${show(actual)}`,
          typeof actual === 'string' ? didYouMean(actual, issue.values.map(String)) : undefined,
        ),
      ];
    case 'invalid_key':
      return [err(yaml.keyAt(path), `key \`${String(path[path.length - 1])}\`${path.length > 1 ? ` in ${describe(path.slice(0, -1))}` : ''} ${keyMessage(issue)}`)];
    case 'too_small':
    case 'too_big':
      return [err(yaml.at(path), `${where} ${boundMessage(issue)}, not ${show(actual)}`)];
    case 'invalid_format':
      return [err(yaml.at(path), `${where} ${issue.message.replace(/^Invalid string: /, '')}, not ${show(actual)}`)];
    default:
      return [err(yaml.at(path), `${where}: ${issue.message}`)];
  }
}

function keyMessage(issue: Extract<Issue, { code: 'invalid_key' }>): string {
  const inner = issue.issues[0];
  return inner ? inner.message.replace(/^Invalid string: /, '') : 'is not allowed';
}

function boundMessage(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>): string {
  const small = issue.code === 'too_small';
  const bound = String(small ? issue.minimum : issue.maximum);
  if (issue.origin === 'array') return `must have ${small ? 'at least' : 'at most'} ${bound} entries`;
  if (issue.origin === 'string') return `must be ${small ? 'at least' : 'at most'} ${bound} characters`;
  return `must be ${small ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<'} ${bound}`;
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer';
  if (expected === 'object') return 'a map';
  if (expected === 'array') return 'a list';
  if (expected === 'boolean') return 'true or false';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'empty (null)';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'number' && !Number.isInteger(value)) return `the number ${value}`;
  return String(value);
}

function describe(path: readonly PathSegment[]): string {
  if (path.length === 0) return 'the file';
  return `\`${path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[')}\``;
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** Keys an object schema allows at `path`, for "did you mean" on unknown keys. */
function knownKeys(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  let s: unknown = schema;
  for (const seg of path) {
    s = unwrap(s);
    const def = (s as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return [];
    if (def.type === 'object') s = (def.shape as Record<string, unknown>)[String(seg)];
    else if (def.type === 'record') s = def.valueType;
    else if (def.type === 'array') s = def.element;
    else if (def.type === 'union') s = (def.options as unknown[]).find((o) => (unwrap(o) as { _zod: { def: { type: string } } })._zod.def.type === 'object');
    else return [];
  }
  s = unwrap(s);
  const def = (s as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
  return def?.type === 'object' ? Object.keys(def.shape as object) : [];
}

function unwrap(s: unknown): unknown {
  let cur = s as { _zod?: { def?: { type?: string; innerType?: unknown } } } | undefined;
  while (cur?._zod?.def && ['optional', 'nullable', 'default'].includes(cur._zod.def.type ?? '')) {
    cur = cur._zod.def.innerType as typeof cur;
  }
  return cur;
}

function dedupe(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const k = `${d.line}:${d.column}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
