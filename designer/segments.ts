import { compileCondition, type ConditionCache, type SegmentScope } from './cel.ts';
import { conditionDiagnostics } from './condition-diagnostics.ts';
import { diagnostic } from './diagnostics.ts';
import type { SegmentsFile } from './schemas.ts';
import type { ConditionInput, Diagnostic, Rule, SegmentSet, SegmentSpec, ValueType } from './types.ts';
import type { PathSegment, YamlFile } from './yaml-doc.ts';

/**
 * Segments (segments.yaml): named bool conditions over `player` (and other segments), like
 * `whales: 'player.revenue_30d >= 5000'`. Rule conditions read them as `segment.<name>`;
 * policy.yaml may give a segment its own daily cap. A decision evaluates only the segments
 * the bundle's rules and policy name (and the segments those read), once per input.
 */

/** Words CEL reserves: `segment.in` would not parse. */
const RESERVED = new Set(['true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);

const EMPTY: Readonly<Record<string, boolean>> = Object.freeze({});

class Segments implements SegmentSet {
  readonly all: readonly SegmentSpec[];
  active: readonly string[] = [];
  /** The scope of rule conditions: every declared name; values found on use when an input carries none. */
  readonly scope: SegmentScope;
  private readonly ordered: readonly SegmentSpec[];
  private activeSpecs: readonly SegmentSpec[] = [];
  private readonly cache = new WeakMap<ConditionInput, Readonly<Record<string, boolean>>>();

  constructor(all: readonly SegmentSpec[], ordered: readonly SegmentSpec[], names: readonly string[]) {
    this.all = all;
    this.ordered = ordered;
    this.scope = { names, values: (input) => this.evaluate(input) };
  }

  /** Makes `names` and every segment they read active; called once, while the bundle is compiled. */
  activate(names: Iterable<string>): void {
    const byName = new Map(this.all.map((s) => [s.name, s]));
    const wanted = new Set<string>();
    const add = (name: string): void => {
      const s = byName.get(name);
      if (!s || wanted.has(name)) return;
      wanted.add(name);
      s.dependsOn.forEach(add);
    };
    for (const n of names) add(n);
    this.activeSpecs = this.ordered.filter((s) => wanted.has(s.name));
    this.active = this.activeSpecs.map((s) => s.name);
  }

  evaluate(input: ConditionInput): Readonly<Record<string, boolean>> {
    if (input.segment) return input.segment;
    if (this.activeSpecs.length === 0) return EMPTY;
    let values = this.cache.get(input);
    if (!values) {
      const found: Record<string, boolean> = {};
      // One input for all segment conditions: they share one adapter, and each sees the values found before it.
      const own: ConditionInput = { event: input.event, player: input.player, segment: found };
      for (const s of this.activeSpecs) found[s.name] = s.condition.evaluate(own).value;
      values = Object.freeze(found);
      this.cache.set(input, values);
    }
    return values;
  }
}

/** No segments.yaml: `segment.<name>` names nothing. */
export function noSegments(): Segments {
  return new Segments([], [], []);
}

/**
 * Compiles a schema-valid segments.yaml (null: no file). `player` is null when properties
 * have errors: the conditions are then not type-checked (one mistake is reported once),
 * but the names are still known, so rules naming them get no second error.
 */
export function compileSegments(
  yaml: YamlFile | null,
  file: SegmentsFile | null,
  player: ReadonlyMap<string, ValueType> | null,
  cache: ConditionCache,
): { segments: Segments; diagnostics: Diagnostic[] } {
  if (!yaml || !file) return { segments: noSegments(), diagnostics: [] };
  const diagnostics: Diagnostic[] = [];
  const names = Object.keys(file.segments);
  const scope = { event: null, player, segments: { names } };
  const specs: SegmentSpec[] = [];
  const pathOf = new Map<string, PathSegment[]>();
  for (const name of names) {
    const entry = file.segments[name];
    if (entry === undefined) continue;
    const short = typeof entry === 'string';
    const path: PathSegment[] = short ? ['segments', name] : ['segments', name, 'when'];
    pathOf.set(name, path);
    if (RESERVED.has(name)) {
      diagnostics.push(diagnostic('error', 'RULE_SCHEMA', yaml.file, yaml.keyAt(['segments', name]), `\`${name}\` is a reserved word of CEL: \`segment.${name}\` could not be written`, `rename it, e.g. \`${name}_players\``));
      continue;
    }
    if (!player) continue;
    const compiled = compileCondition(short ? entry : entry.when, scope, cache);
    if (!compiled.ok) {
      diagnostics.push(...conditionDiagnostics(yaml, path, compiled.problems));
      continue;
    }
    const dependsOn = compiled.condition.reads.filter((r) => r.startsWith('segment.')).map((r) => r.slice('segment.'.length));
    specs.push({ name, description: short ? '' : (entry.description ?? ''), condition: compiled.condition, dependsOn: [...new Set(dependsOn)] });
  }
  const ordered = orderByDependency(specs, (name, cycle) => {
    diagnostics.push(
      diagnostic('error', 'RULE_CONFLICT', yaml.file, yaml.at(pathOf.get(name) ?? ['segments', name]), `segment \`${name}\` depends on itself: ${cycle.join(' → ')}`, 'a segment may read other segments, but not in a circle'),
    );
  });
  return { segments: new Segments(specs, ordered, names), diagnostics };
}

/** Dependencies first; each cycle reported once, at its first segment in declaration order. */
function orderByDependency(specs: readonly SegmentSpec[], onCycle: (name: string, cycle: string[]) => void): SegmentSpec[] {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const state = new Map<string, 'visiting' | 'done'>();
  const out: SegmentSpec[] = [];
  const visit = (s: SegmentSpec, stack: string[]): void => {
    const st = state.get(s.name);
    if (st === 'done') return;
    if (st === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(s.name)), s.name];
      onCycle(cycle[0] ?? s.name, cycle);
      return;
    }
    state.set(s.name, 'visiting');
    for (const d of s.dependsOn) {
      const dep = byName.get(d);
      if (dep) visit(dep, [...stack, s.name]);
    }
    state.set(s.name, 'done');
    out.push(s);
  };
  for (const s of specs) visit(s, []);
  return out;
}

/** Segment names the rules' conditions read (`segment.<name>`). */
export function segmentsReadBy(rules: readonly Rule[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules) {
    for (const path of r.trigger.when?.reads ?? []) if (path.startsWith('segment.')) out.add(path.slice('segment.'.length));
  }
  return out;
}

export type { Segments };

/**
 * The daily cap of one decision: the tightest `maxOffersPerDay` among the player's segments
 * that have one in policy.yaml, else the global one (null: no cap). `segment` names the
 * segment whose cap applies.
 */
export function dailyCapFor(
  policy: { readonly maxOffersPerDay: number | null; readonly segmentCaps: ReadonlyMap<string, number> },
  values: Readonly<Record<string, boolean>>,
): { readonly max: number | null; readonly segment: string | null } {
  let best: { max: number; segment: string } | null = null;
  for (const [name, max] of policy.segmentCaps) {
    if (values[name] === true && (best === null || max < best.max || (max === best.max && name < best.segment))) best = { max, segment: name };
  }
  return best ?? { max: policy.maxOffersPerDay, segment: null };
}
