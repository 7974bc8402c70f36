import { createHash } from 'node:crypto';
import { ConditionCache, PLAYER_BUILTINS } from './cel.ts';
import { crossRuleChecks } from './checks.ts';
import { diagnostic, hasErrors, sortDiagnostics } from './diagnostics.ts';
import { compileEvents } from './events.ts';
import { compilePolicy } from './policy.ts';
import { compileProperties } from './properties.ts';
import { compileRule } from './rule.ts';
import { checkSchema } from './schema-check.ts';
import { eventsSchema, policySchema, propertiesSchema, ruleSchema, segmentsSchema } from './schemas.ts';
import { compileSegments, segmentsReadBy } from './segments.ts';
import type { Bundle, Diagnostic, PropertySpec, Rule, ValueType } from './types.ts';
import { parseYamlFile, type YamlFile } from './yaml-doc.ts';

export { compileCondition, ConditionCache, type ConditionScope, type CompiledCondition } from './cel.ts';

/** At most this many files in a bundle; each file at most MAX_FILE_BYTES (yaml-doc.ts). */
export const MAX_FILES = 200;

export type CompileResult =
  | { readonly ok: true; readonly bundle: Bundle; readonly warnings: Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: Diagnostic[] };

const SPECIAL = { events: 'events', properties: 'properties', segments: 'segments', policy: 'policy' } as const;

/**
 * Compiles a designer bundle: file name -> YAML text. `events.yaml`, `properties.yaml`,
 * `segments.yaml` and `policy.yaml` (or `.yml`) are optional; every other `*.yaml`/`*.yml`
 * holds one rule.
 * Never throws: every problem is a Diagnostic. `ok` is false when any error was found;
 * then `diagnostics` holds errors and warnings, errors first.
 */
export function compileBundle(files: Readonly<Record<string, string>>, opts: { version?: number } = {}): CompileResult {
  const diagnostics: Diagnostic[] = [];
  const names = Object.keys(files).sort();
  if (names.length > MAX_FILES) {
    return { ok: false, diagnostics: [diagnostic('error', 'RULE_SCHEMA', names[MAX_FILES] ?? '', { line: 1, column: 1 }, `a bundle holds at most ${MAX_FILES} files; this one has ${names.length}`, 'merge or remove rules')] };
  }
  const parsed = new Map<string, YamlFile>();
  const special: Partial<Record<keyof typeof SPECIAL, string>> = {};
  const ruleFiles: string[] = [];
  for (const name of names) {
    if (!/^[A-Za-z0-9_.-]+\.ya?ml$/.test(name)) {
      diagnostics.push(diagnostic('error', 'RULE_SCHEMA', name, { line: 1, column: 1 }, 'file names must end in .yaml or .yml and sit in the bundle folder itself', 'letters, digits, `_`, `.` and `-` only'));
      continue;
    }
    const text = files[name];
    if (typeof text !== 'string') {
      diagnostics.push(diagnostic('error', 'RULE_SCHEMA', name, { line: 1, column: 1 }, 'file content must be text'));
      continue;
    }
    const { yaml, diagnostics: d } = parseYamlFile(name, text);
    diagnostics.push(...d);
    parsed.set(name, yaml);
    const kind = name.replace(/\.ya?ml$/, '') as keyof typeof SPECIAL;
    if (Object.hasOwn(SPECIAL, kind)) {
      if (special[kind]) diagnostics.push(diagnostic('error', 'RULE_CONFLICT', name, { line: 1, column: 1 }, `both ${special[kind]} and ${name} exist`, 'keep one'));
      else special[kind] = name;
    } else {
      ruleFiles.push(name);
    }
  }
  const yamlOf = (name: string): YamlFile => parsed.get(name) as YamlFile;
  const readable = (name: string | undefined): YamlFile | null => {
    const y = name ? parsed.get(name) : undefined;
    return y && y.value !== undefined && !diagnostics.some((d) => d.file === name && d.code === 'RULE_YAML' && d.severity === 'error') ? y : null;
  };

  const cache = new ConditionCache();
  const eventsYaml = readable(special.events);
  const eventsFile = eventsYaml ? collect(diagnostics, checkSchema(eventsYaml, eventsSchema)) : null;
  const { events, diagnostics: ed } = compileEvents(eventsYaml, eventsFile);
  diagnostics.push(...ed);

  const eventsBroken = special.events !== undefined && hasErrors(diagnostics.filter((d) => d.file === special.events));
  const propsYaml = readable(special.properties);
  const propsFile = propsYaml ? collect(diagnostics, checkSchema(propsYaml, propertiesSchema)) : null;
  const { properties, diagnostics: pd } = compileProperties(propsYaml, eventsBroken ? null : propsFile, events, cache);
  diagnostics.push(...pd);

  const player = new Map<string, ValueType>(PLAYER_BUILTINS);
  for (const p of properties) player.set(p.name, p.valueType);
  const propsBroken = eventsBroken || (special.properties !== undefined && hasErrors(diagnostics.filter((d) => d.file === special.properties)));
  const segmentsYaml = readable(special.segments);
  const segmentsFile = segmentsYaml ? collect(diagnostics, checkSchema(segmentsYaml, segmentsSchema)) : null;
  const { segments, diagnostics: sd } = compileSegments(segmentsYaml, segmentsFile, propsBroken ? null : player, cache);
  diagnostics.push(...sd);
  const segmentsUnread = special.segments !== undefined && segmentsFile === null;

  const policyYaml = readable(special.policy);
  const policyFile = policyYaml ? collect(diagnostics, checkSchema(policyYaml, policySchema)) : null;
  const { policy, diagnostics: pold } = compilePolicy(policyYaml, policyFile, eventsBroken ? null : events, segmentsUnread ? null : segmentNames(segmentsFile));
  diagnostics.push(...pold);

  // Rules are checked against events, properties and segments; when those have errors, rules
  // get their YAML and schema checks only, so one mistake upstream is not reported many times.
  const upstreamBroken = [special.events, special.properties, special.segments].some((f) => f !== undefined && hasErrors(diagnostics.filter((d) => d.file === f)));
  const rules: Rule[] = [];
  for (const name of ruleFiles) {
    const yaml = readable(name);
    if (!yaml) continue;
    const file = collect(diagnostics, checkSchema(yaml, ruleSchema));
    if (!file || upstreamBroken) continue;
    const { rule, diagnostics: rd } = compileRule(yaml, file, { events, player, segments: segments.scope, cache });
    diagnostics.push(...rd);
    if (rule) rules.push(rule);
  }
  diagnostics.push(...crossRuleChecks(rules, yamlOf));

  if (hasErrors(diagnostics)) return { ok: false, diagnostics: sortDiagnostics(diagnostics) };
  segments.activate([...segmentsReadBy(rules), ...policy.segmentCaps.keys()]);
  const bundle: Bundle = {
    version: opts.version ?? 0,
    hash: bundleHash(files),
    files: Object.freeze({ ...files }),
    events,
    properties,
    policy,
    rules,
    rulesByEvent: indexRules(rules),
    propertiesByEvent: indexProperties(properties),
    segments,
  };
  return { ok: true, bundle, warnings: sortDiagnostics(diagnostics) };
}

function segmentNames(file: { segments: Record<string, unknown> } | null): string[] {
  return file ? Object.keys(file.segments) : [];
}

function collect<T>(into: Diagnostic[], r: { value: T | null; diagnostics: Diagnostic[] }): T | null {
  into.push(...r.diagnostics);
  return r.value;
}

/** sha256 over the sorted (name, text) pairs. */
export function bundleHash(files: Readonly<Record<string, string>>): string {
  const h = createHash('sha256');
  for (const name of Object.keys(files).sort()) {
    h.update(name).update('\0').update(files[name] ?? '').update('\0');
  }
  return h.digest('hex');
}

/** Enabled rules that events trigger, by event type: priority descending, then id ascending. */
function indexRules(rules: readonly Rule[]): Map<string, readonly Rule[]> {
  const out = new Map<string, Rule[]>();
  for (const r of rules) {
    if (!r.enabled || r.followUpOnly) continue;
    const list = out.get(r.trigger.event) ?? [];
    list.push(r);
    out.set(r.trigger.event, list);
  }
  for (const list of out.values()) list.sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return out;
}

function indexProperties(properties: readonly PropertySpec[]): Map<string, readonly PropertySpec[]> {
  const out = new Map<string, PropertySpec[]>();
  for (const p of properties) {
    const list = out.get(p.event) ?? [];
    list.push(p);
    out.set(p.event, list);
  }
  return out;
}
