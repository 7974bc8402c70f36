/**
 * Property-based fuzzing of the designer compiler (designer/compile.ts, compileBundle: parse
 * and validate a bundle of YAML files): whatever the text, it returns a bundle or a list of
 * diagnostics with file, line and message, never throws, and never touches Object.prototype.
 * The inputs are arbitrary text, the sample game with its files damaged, YAML documents of
 * arbitrary structure (hostile keys included), and sample rules with arbitrary values in
 * their fields. Case counts per property are printed at the end (FUZZ_RUNS scales them).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { compileBundle, type CompileResult } from '../../designer/compile.ts';
import { checkProperty, guardPrototype } from './pipeline.ts';

const RULES_DIR = resolve(import.meta.dirname, '../../offers/rules');
const SAMPLE: Readonly<Record<string, string>> = Object.fromEntries(
  readdirSync(RULES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => [f, readFileSync(resolve(RULES_DIR, f), 'utf8')]),
);
const SAMPLE_NAMES = Object.keys(SAMPLE).sort();
const RULE_NAMES = SAMPLE_NAMES.filter((n) => !['events.yaml', 'properties.yaml', 'segments.yaml', 'policy.yaml'].includes(n));

/**
 * The sample's events, properties, segments and policy, one sample rule, and `name` set to `text`:
 * every kind of file and the checks across them, at a fraction of the whole sample's
 * compile time (its CEL conditions dominate it).
 */
function bundleWith(name: string, text: string): Record<string, string> {
  const base: Record<string, string> = {};
  for (const f of ['events.yaml', 'properties.yaml', 'segments.yaml', 'policy.yaml', 'win-streak-cosmetic.yaml']) base[f] = SAMPLE[f] as string;
  base[name] = text;
  return base;
}

guardPrototype('designer');

/** compileBundle's result, checked: no throw, and a failure names where and what. */
function compiled(files: Record<string, string>): CompileResult {
  let result: CompileResult | undefined;
  expect(() => {
    result = compileBundle(files);
  }).not.toThrow();
  const r = result as CompileResult;
  const diagnostics = r.ok ? r.warnings : r.diagnostics;
  if (!r.ok) expect(diagnostics.some((d) => d.severity === 'error')).toBe(true);
  for (const d of diagnostics) {
    expect(typeof d.message === 'string' && d.message.length > 0).toBe(true);
    expect(typeof d.code === 'string' && d.code.length > 0).toBe(true);
    expect(Number.isInteger(d.line) && d.line >= 1 && Number.isInteger(d.column) && d.column >= 1).toBe(true);
    expect(typeof d.file).toBe('string');
  }
  return r;
}

const fileName = fc.constantFrom('events.yaml', 'properties.yaml', 'segments.yaml', 'policy.yaml', 'rule.yaml', 'starter-pack.yaml');

/** Text that looks a little like YAML: indentation, colons, dashes, quotes, anchors, flow brackets, comments. */
const yamlish = fc
  .array(
    fc.oneof(
      fc.constantFrom('\n', '  ', ': ', '- ', '#', '&a ', '*a', '<<: ', '{', '}', '[', ']', ',', "'", '"', '|', '>', '!!', '? ', '---', '...', '%YAML 1.2', '\t', '~', 'null', 'true', '1e9'),
      fc.constantFrom('id', 'events', 'properties', 'trigger', 'event', 'when', 'offer', 'limits', 'count', 'window', 'fatigue', 'holdout', 'segments', 'data', 'type', 'enum', '__proto__', 'constructor'),
      fc.string({ maxLength: 8, unit: 'grapheme' }),
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''));

/** Arbitrary plain data as a YAML document would hold it, keys from the designer vocabulary and hostile names. */
const key = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'id', 'enabled', 'mode', 'priority', 'trigger', 'event', 'when', 'offer', 'sku', 'price', 'amount', 'currency', 'ttl', 'limits', 'cooldown', 'budget', 'experiment', 'events', 'data', 'type', 'required', 'enum', 'properties', 'count', 'sum', 'window', 'field', 'fatigue', 'holdout', 'percent', 'revenue', 'followUp', 'segments', 'maxOffersPerDay'),
  fc.string({ maxLength: 6 }),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.integer(),
    fc.double(),
    fc.string({ maxLength: 12 }),
    fc.constantFrom('1h', '0m', '-3d', '99999999999d', 'live', 'shadow', 'match.end', 'int', 'string', 'event.data.x > 1', 'player.matches_played'),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 3 }),
    tie('o'),
  ),
  o: fc.dictionary(key, tie('v'), { maxKeys: 5 }),
})).v;

/** A YAML document of `data`; own `__proto__` keys are written as keys, as a designer could type them. */
function yamlOf(data: unknown): string {
  return stringify(data, { aliasDuplicateObjects: false });
}

describe('designer file fuzzing', () => {
  it('the sample game compiles', () => {
    const r = compiled({ ...SAMPLE });
    expect(r.ok).toBe(true);
  });

  it('arbitrary text in any file compiles or gives diagnostics', () => {
    checkProperty('arbitrary text', fc.tuple(fileName, fc.string({ maxLength: 400, unit: 'binary' })), ([name, text]) => void compiled(bundleWith(name, text)), 250);
  });

  it('YAML-looking text in any file compiles or gives diagnostics', () => {
    checkProperty('yaml-ish text', fc.tuple(fileName, yamlish), ([name, text]) => void compiled(bundleWith(name, text)), 250);
  });

  it('the sample game with one file damaged (bytes spliced, lines cut or swapped) compiles or gives diagnostics', () => {
    const damage = fc.tuple(fc.constantFrom(...SAMPLE_NAMES), fc.nat(), fc.nat(), fc.string({ maxLength: 12, unit: 'binary' }), fc.constantFrom('splice', 'cut', 'swap', 'dedent'));
    checkProperty(
      'damaged sample',
      damage,
      ([name, a, b, junk, how]) => {
        const text = SAMPLE[name] as string;
        let out: string;
        if (how === 'splice') out = text.slice(0, a % (text.length + 1)) + junk + text.slice((a % (text.length + 1)) + (b % 4));
        else if (how === 'cut') out = text.slice(0, a % (text.length + 1));
        else {
          const lines = text.split('\n');
          const i = a % lines.length;
          const j = b % lines.length;
          if (how === 'swap') [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
          else lines[i] = (lines[i] as string).trimStart();
          out = lines.join('\n');
        }
        compiled(bundleWith(name, out));
      },
      500,
    );
  });

  it('YAML documents of arbitrary structure, hostile keys included, compile or give diagnostics', () => {
    checkProperty('arbitrary documents', fc.tuple(fileName, value), ([name, data]) => void compiled(bundleWith(name, yamlOf(data))), 500);
  });

  it('a sample rule with an arbitrary value in one of its fields compiles or gives diagnostics', () => {
    const path = fc.constantFrom(['id'], ['priority'], ['mode'], ['enabled'], ['trigger'], ['trigger', 'event'], ['trigger', 'when'], ['offer'], ['offer', 'price'], ['offer', 'ttl'], ['offer', 'discountPct'], ['limits'], ['limits', 'budget'], ['limits', 'cooldown'], ['followUp'], ['followUp', 'after'], ['experiment'], ['__proto__']);
    checkProperty(
      'rule fields',
      fc.tuple(fc.constantFrom(...RULE_NAMES), path, value),
      ([name, p, v]) => {
        compiled(bundleWith(name, replaceField(SAMPLE[name] as string, p, v)));
      },
      500,
    );
  });

  it('a sample rule with an arbitrary condition compiles or gives diagnostics', () => {
    const cel = fc
      .array(
        fc.oneof(
          fc.constantFrom('player.', 'event.', 'segment.', 'whales', 'data.', 'matches_played', 'purchases', 'result', ' == ', ' && ', ' || ', '!', '(', ')', '[', ']', '.size()', ' in ', '"win"', '1', '0.5', '-', ' ? ', ' : ', 'has(', 'int(', 'timestamp(', '__proto__', 'constructor', '1e308', '9223372036854775808'),
          fc.string({ maxLength: 4 }),
        ),
        { maxLength: 24 },
      )
      .map((parts) => parts.join(''));
    checkProperty('conditions', fc.tuple(fc.constantFrom(...RULE_NAMES), cel), ([name, when]) => void compiled(bundleWith(name, setWhen(SAMPLE[name] as string, when))), 500);
  });
});

/** The rule text with its top-level block `path[0]` replaced by `path` set to `v`, written as YAML. */
function replaceField(text: string, path: readonly string[], v: unknown): string {
  const top = path[0] as string;
  const doc: Record<string, unknown> = {};
  Object.defineProperty(doc, top, { value: path.length === 1 ? v : { [path[1] as string]: v }, enumerable: true, writable: true, configurable: true });
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${top}:`));
  const kept = start === -1 ? lines : [...lines.slice(0, start), ...lines.slice(nextTop(lines, start) + 1)];
  return `${kept.join('\n')}\n${yamlOf(doc)}`;
}

/** The last line of the top-level block that starts at `start`. */
function nextTop(lines: readonly string[], start: number): number {
  for (let i = start + 1; i < lines.length; i++) if (/^\S/.test(lines[i] as string)) return i - 1;
  return lines.length - 1;
}

/** The rule text with its trigger's `when` replaced (quoted as YAML would quote it). */
function setWhen(text: string, when: string): string {
  const quoted = JSON.stringify(when);
  return /^\s+when:.*$/m.test(text) ? text.replace(/^(\s+)when:.*$/m, (_, indent: string) => `${indent}when: ${quoted}`) : text.replace(/^trigger:\n/m, `trigger:\n  when: ${quoted}\n`);
}
