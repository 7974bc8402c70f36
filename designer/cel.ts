import { Environment, type ASTNode, type ObjectSchema } from '@marcbachmann/cel-js';
import { children, isAstNode, pathOf, readsOf, walk } from './cel-ast.ts';
import { didYouMean } from './suggest.ts';
import type { Condition, ConditionInput, EventSpec, ValueType } from './types.ts';

/**
 * Compiles CEL conditions: type-checks them against the declared event fields and player
 * properties, then returns a `Condition` that evaluates the parsed expression. Values given
 * to `evaluate` are plain JS; numbers become CEL ints (BigInt) or doubles by declared type.
 */

export interface ConditionScope {
  /** The triggering event's fields; null where `event` is not available (a segment's `when`). */
  readonly event: EventSpec | null;
  /** Player fields and their types; null where `player` is not available (a property's `when`). */
  readonly player: ReadonlyMap<string, ValueType> | null;
  /** The segments `segment.<name>` may name (bools); absent or null: `segment` is not available. */
  readonly segments?: SegmentScope | null;
}

/**
 * What `segment` is in a condition: the declared segment names, and for rule conditions
 * how a decision's segment values are found when its input does not carry them.
 */
export interface SegmentScope {
  readonly names: readonly string[];
  values?(input: ConditionInput): Readonly<Record<string, boolean>>;
}

export interface ConditionProblem {
  readonly code: 'RULE_TYPE_ERROR' | 'RULE_REFERENCE';
  readonly message: string;
  readonly hint?: string;
  /** 0-based character offset into the source. */
  readonly offset: number;
}

export type CompiledCondition =
  | { readonly ok: true; readonly condition: Condition; readonly ast: ASTNode }
  | { readonly ok: false; readonly problems: readonly ConditionProblem[] };

/** Built-in `player` fields (docs/contract.md §4); times are int ms. */
export const PLAYER_BUILTINS: ReadonlyMap<string, ValueType> = new Map<string, ValueType>([
  ['id', 'string'],
  ['first_seen', 'int'],
  ['last_seen', 'int'],
  ['last_purchase_at', 'int'],
  ['events_total', 'int'],
  ['offers_today', 'int'],
]);

/** Fields of `event` beside `data`. */
export const EVENT_FIELDS: ReadonlyMap<string, ValueType> = new Map<string, ValueType>([
  ['type', 'string'],
  ['id', 'string'],
  ['ts', 'int'],
]);

const LIMITS = { maxAstNodes: 2_000, maxDepth: 64, maxListElements: 256, maxMapEntries: 256, maxCallArguments: 16 };

/** Evaluates parsed expressions over values already adapted to CEL types. */
const runtimeEnv = new Environment({ limits: LIMITS }).registerVariable('event', 'map').registerVariable('player', 'map').registerVariable('segment', 'map');

type Context = { event?: Record<string, unknown>; player: Record<string, unknown>; segment?: Readonly<Record<string, boolean>> };

/**
 * Caches type-checking environments and input adapters per scope. One per compiled bundle:
 * conditions of one trigger event share one adapter, so an input is adapted once for all
 * of that event's rules. Inputs are immutable (ConditionInput is readonly): the adapter
 * keeps the last input it adapted, with its values.
 */
export class ConditionCache {
  private readonly envs = new Map<string, Environment>();
  private readonly adapters = new Map<string, Adapter>();

  env(scope: ConditionScope): Environment {
    const key = scopeKey(scope);
    let env = this.envs.get(key);
    if (!env) {
      env = new Environment({ limits: LIMITS });
      if (scope.event) env.registerVariable({ name: 'event', schema: eventSchema(scope.event) });
      if (scope.segments) env.registerVariable({ name: 'segment', schema: Object.fromEntries(scope.segments.names.map((n) => [n, 'bool'])) });
      if (scope.player) env.registerVariable({ name: 'player', schema: Object.fromEntries([...scope.player].map(([k, t]) => [k, celType(t)])) });
      this.envs.set(key, env);
    }
    return env;
  }

  adapter(scope: ConditionScope): Adapter {
    const key = scopeKey(scope);
    let a = this.adapters.get(key);
    if (!a) {
      a = new Adapter(scope);
      this.adapters.set(key, a);
    }
    return a;
  }
}

const scopeIds = new WeakMap<object, number>();
let nextScopeId = 1;
function scopeKey(scope: ConditionScope): string {
  const id = (o: object | null): number => {
    if (o === null) return 0;
    let n = scopeIds.get(o);
    if (n === undefined) {
      n = nextScopeId++;
      scopeIds.set(o, n);
    }
    return n;
  };
  return `${id(scope.event)}:${id(scope.player)}:${id(scope.segments ?? null)}`;
}

function celType(t: ValueType): string {
  return t === 'map' ? 'map' : t === 'list' ? 'list' : t;
}

function eventSchema(spec: EventSpec): ObjectSchema {
  const data: Record<string, string> = {};
  for (const f of spec.fields.values()) data[f.name] = celType(f.type);
  return { ...Object.fromEntries([...EVENT_FIELDS].map(([k, t]) => [k, celType(t)])), data: Object.keys(data).length ? data : 'map' } as ObjectSchema;
}

export type CheckedExpression = { readonly ok: true; readonly ast: ASTNode; readonly type: string } | { readonly ok: false; readonly problems: readonly ConditionProblem[] };

/** Parses and type-checks one expression of any result type against `scope`; never throws. */
export function checkExpression(source: string, scope: ConditionScope, cache: ConditionCache): CheckedExpression {
  const env = cache.env(scope);
  let ast: ASTNode;
  try {
    ast = env.parse(source).ast;
  } catch (err) {
    return { ok: false, problems: [syntaxProblem(err)] };
  }
  if (!scope.event) {
    for (const node of walk(ast)) {
      if (node.op === 'id' && node.args === 'event') {
        return {
          ok: false,
          problems: [
            {
              code: 'RULE_REFERENCE',
              offset: node.range.start,
              message: 'a segment reads only `player` and `segment`, not `event`: it holds for a player whatever event is being decided',
              hint: 'test the event in the rule that uses the segment',
            },
          ],
        };
      }
    }
  }
  if (!scope.player) {
    for (const node of walk(ast)) {
      if (node.op === 'id' && node.args === 'player') {
        return {
          ok: false,
          problems: [
            {
              code: 'RULE_REFERENCE',
              offset: node.range.start,
              message: "a property's `when` may read only `event`, not `player`: processors evaluate it before they update the player's state",
              hint: 'move the player condition into the rule that reads this property',
            },
          ],
        };
      }
    }
  }
  const nested = nestedComprehension(ast);
  if (nested) {
    return {
      ok: false,
      problems: [
        {
          code: 'RULE_TYPE_ERROR',
          offset: nested.offset,
          message: `\`${nested.name}\` inside another comprehension: its cost is the product of both lists on every event, so conditions may not nest all/exists/exists_one/map/filter`,
          hint: 'test each list on its own and combine the results with && or ||',
        },
      ],
    };
  }
  const checked = env.check(source);
  if (!checked.valid) return { ok: false, problems: [typeProblem(checked.error, ast, scope)] };
  const enumProblems = checkEnumLiterals(ast, scope);
  if (enumProblems.length > 0) return { ok: false, problems: enumProblems };
  return { ok: true, ast, type: checked.type ?? 'dyn' };
}

/** Compiles one condition; never throws. */
export function compileCondition(source: string, scope: ConditionScope, cache: ConditionCache = new ConditionCache()): CompiledCondition {
  const checked = checkExpression(source, scope, cache);
  if (!checked.ok) return checked;
  const ast = checked.ast;
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return {
      ok: false,
      problems: [
        {
          code: 'RULE_TYPE_ERROR',
          offset: 0,
          message: `the condition is of type ${displayType(checked.type)}; it must be true or false`,
          hint: checked.type === 'int' || checked.type === 'double' ? `compare it, e.g. \`${source.trim()} >= 1\`` : 'compare it with ==, <, >= …',
        },
      ],
    };
  }
  const fn = runtimeEnv.parse(source);
  const adapter = cache.adapter(scope);
  const reads = readsOf(ast, rootsOf(scope));
  adapter.noteReads(reads);
  const condition: Condition = {
    source,
    reads,
    evaluate(input: ConditionInput) {
      try {
        const v: unknown = fn(adapter.adapt(input));
        if (typeof v === 'boolean') return { value: v };
        return { value: false, error: `the condition gave ${v === null ? 'null' : typeof v}, not a bool` };
      } catch (err) {
        return { value: false, error: errorSummary(err) };
      }
    },
  };
  return { ok: true, condition, ast };
}

/**
 * A checked expression made runnable: `run` evaluates it on a plain input (it throws on a
 * runtime CEL error) and `reads` lists the paths it reads. Parsed once, here.
 */
export function runnable(source: string, ast: ASTNode, scope: ConditionScope, cache: ConditionCache): { run(input: ConditionInput): unknown; reads: readonly string[] } {
  const fn = runtimeEnv.parse(source);
  const adapter = cache.adapter(scope);
  const reads = readsOf(ast, rootsOf(scope));
  adapter.noteReads(reads);
  return { run: (input) => fn(adapter.adapt(input)), reads };
}

/** The one-line summary of a CEL runtime error. */
export function celErrorSummary(err: unknown): string {
  return errorSummary(err);
}

/** CEL macros that loop over a list or map. */
const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

/**
 * The first comprehension found in the body of another, or null. Conditions run on every
 * event: one comprehension costs the size of its list, nested ones the product of the sizes
 * (10 nested over 10 elements: 10^10 steps), so nesting is refused at validation.
 */
function nestedComprehension(root: ASTNode): { name: string; offset: number } | null {
  const visit = (node: ASTNode, inBody: boolean): { name: string; offset: number } | null => {
    const [name, range, body] = (node.op === 'rcall' ? node.args : []) as unknown as [unknown, unknown, unknown];
    if (typeof name === 'string' && COMPREHENSIONS.has(name)) {
      if (inBody) return { name, offset: node.range.start };
      const inRange = isAstNode(range) ? visit(range, false) : null;
      if (inRange) return inRange;
      for (const b of Array.isArray(body) ? body : []) {
        const found = isAstNode(b) ? visit(b, true) : null;
        if (found) return found;
      }
      return null;
    }
    for (const child of children(node)) {
      const found = visit(child, inBody);
      if (found) return found;
    }
    return null;
  };
  return visit(root, false);
}

/** The variables a condition of `scope` may read. */
function rootsOf(scope: ConditionScope): string[] {
  const roots: string[] = [];
  if (scope.event) roots.push('event');
  if (scope.player) roots.push('player');
  if (scope.segments) roots.push('segment');
  return roots;
}

/** `a`, `a` and `b`, `a`, `b` and `c`. */
function listed(names: readonly string[]): string {
  const q = names.map((n) => `\`${n}\``);
  return q.length <= 1 ? (q[0] ?? '') : `${q.slice(0, -1).join(', ')} and ${q[q.length - 1] ?? ''}`;
}

function errorSummary(err: unknown): string {
  if (err && typeof err === 'object' && 'summary' in err && typeof err.summary === 'string') return err.summary;
  return err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
}

function syntaxProblem(err: unknown): ConditionProblem {
  const range = (err as { range?: { start: number } }).range;
  const summary = errorSummary(err);
  return {
    code: 'RULE_TYPE_ERROR',
    offset: range?.start ?? 0,
    message: `CEL syntax error: ${summary}`,
    hint: /unexpected|unterminated|invalid/i.test(summary) ? 'strings take double quotes inside the YAML quotes: \'event.data.result == "loss"\'' : undefined,
  };
}

function typeProblem(err: unknown, ast: ASTNode, scope: ConditionScope): ConditionProblem {
  const summary = errorSummary(err);
  const offset = (err as { range?: { start: number } }).range?.start ?? 0;
  const unknownVar = /^Unknown variable: (\S+)/.exec(summary);
  if (unknownVar) {
    const name = unknownVar[1] ?? '';
    const roots = rootsOf(scope);
    const hint = name === 'segments' && scope.segments ? 'a segment is `segment.<name>` (singular)' : didYouMean(name, roots);
    return { code: 'RULE_REFERENCE', offset, message: `unknown variable \`${name}\`; conditions read ${listed(roots)}`, hint };
  }
  const noKey = /^No such key: (\S+)/.exec(summary);
  if (noKey) {
    const key = noKey[1] ?? '';
    const access = [...walk(ast)].find((n) => (n.op === '.' || n.op === '.?') && n.args[1] === key && n.range.end >= offset && n.range.start <= offset);
    const base = access && (access.op === '.' || access.op === '.?') ? pathOf(access.args[0]) : null;
    const where = base ? base.join('.') : 'the value';
    const candidates = base ? fieldsAt(base, scope) : [];
    const declaredIn =
      base?.[0] === 'player' ? 'properties.yaml' : base?.[0] === 'event' && scope.event ? `events.yaml (${scope.event.type})` : base?.[0] === 'segment' ? 'segments.yaml' : null;
    return {
      code: 'RULE_REFERENCE',
      offset,
      message: `\`${where}\` has no field \`${key}\`${declaredIn ? `; it is not declared in ${declaredIn}` : ''}`,
      hint: didYouMean(key, candidates) ?? (candidates.length ? `known: ${candidates.slice(0, 12).join(', ')}` : undefined),
    };
  }
  const overload = /^no such overload: (.+)$/.exec(summary);
  if (overload) {
    const what = overload[1] ?? '';
    const types: string[] = what.match(/\b(int|double|string|bool|uint|map|list|null)\b/g) ?? [];
    let hint = 'both sides must have the same type';
    if (types.includes('string') && (types.includes('int') || types.includes('double'))) hint = 'numbers take no quotes and text takes "double quotes"';
    else if (types.includes('int') && types.includes('double')) hint = 'write 3.0 for a double, or convert with double(…) or int(…)';
    return { code: 'RULE_TYPE_ERROR', offset, message: `type mismatch: no operator for ${what}`, hint };
  }
  return { code: 'RULE_TYPE_ERROR', offset, message: `CEL type error: ${summary}` };
}

function fieldsAt(base: readonly string[], scope: ConditionScope): string[] {
  const key = base.join('.');
  if (key === 'player') return scope.player ? [...scope.player.keys()] : [];
  if (key === 'event') return [...EVENT_FIELDS.keys(), 'data'];
  if (key === 'event.data') return scope.event ? [...scope.event.fields.keys()] : [];
  if (key === 'segment') return scope.segments ? [...scope.segments.names] : [];
  return [];
}

function displayType(t: string | undefined): string {
  return t?.startsWith('$') ? 'map' : (t ?? 'unknown');
}

/** `event.data.result == "lose"` where `result` is an enum without "lose" never matches. */
function checkEnumLiterals(ast: ASTNode, scope: ConditionScope): ConditionProblem[] {
  const problems: ConditionProblem[] = [];
  const enumOf = (node: ASTNode): { name: string; values: readonly string[] } | null => {
    const p = pathOf(node);
    if (!p || p.length !== 3 || p[0] !== 'event' || p[1] !== 'data') return null;
    const f = scope.event?.fields.get(p[2] ?? '');
    return f?.enum ? { name: p.join('.'), values: f.enum } : null;
  };
  const literals = (node: ASTNode): ASTNode[] => {
    if (node.op === 'value' && typeof node.args === 'string') return [node];
    if (node.op === 'list') return node.args.filter((n) => n.op === 'value' && typeof n.args === 'string');
    return [];
  };
  for (const node of walk(ast)) {
    if (node.op !== '==' && node.op !== '!=' && node.op !== 'in') continue;
    const [a, b] = node.args;
    const pairs: [ASTNode, ASTNode][] = node.op === 'in' ? [[a, b]] : [[a, b], [b, a]];
    for (const [field, other] of pairs) {
      const e = enumOf(field);
      if (!e) continue;
      for (const lit of literals(other)) {
        const value = lit.args as string;
        if (!e.values.includes(value)) {
          problems.push({
            code: 'RULE_TYPE_ERROR',
            offset: lit.range.start,
            message: `\`${e.name}\` is never "${value}": it is one of ${e.values.join(', ')}`,
            hint: didYouMean(value, e.values),
          });
        }
      }
    }
  }
  return problems;
}

/**
 * Turns plain inputs into CEL values by declared type; one adapted context per input object.
 *
 * Only the `player` and `event.data` fields some expression of the scope reads are adapted
 * (each expression's reads are noted as it is compiled, `noteReads`): a game declares tens of
 * properties, an event type's rules read a few, and adapting one (an int becomes a BigInt) per
 * field per decision was the largest single cost of evaluation. An expression that reads
 * `player` or `event.data` as a whole (an index that is not a literal, a macro over the map)
 * gets every declared field. A field no expression reads is absent from the adapted map,
 * which no expression can tell.
 */
class Adapter {
  // The last input adapted, and the last player: the rules of one event (or a segment's
  // conditions) are evaluated one after another on the same input, so one entry finds it.
  // (A WeakMap per input cost two inserts per event and adapter.)
  private lastInput: ConditionInput | null = null;
  private lastContext: Context | null = null;
  private lastSource: object | null = null;
  private lastPlayer: Record<string, unknown> | null = null;
  private readonly withEvent: boolean;
  private readonly segments: SegmentScope | null;
  private readonly declaredPlayer: readonly [string, ValueType][];
  private readonly declaredData: readonly [string, ValueType][];
  private readonly playerReads = new Set<string>();
  private readonly dataReads = new Set<string>();
  private allPlayer = false;
  private allData = false;
  private playerFields: readonly [string, ValueType][] = [];
  private dataFields: readonly [string, ValueType][] = [];

  constructor(scope: ConditionScope) {
    this.declaredPlayer = scope.player ? [...scope.player] : [];
    this.declaredData = scope.event ? [...scope.event.fields.values()].map((f): [string, ValueType] => [f.name, f.type]) : [];
    this.withEvent = scope.event !== null;
    this.segments = scope.segments ?? null;
  }

  /** The paths an expression of this scope reads (readsOf): their fields are adapted from now on. */
  noteReads(reads: readonly string[]): void {
    for (const path of reads) {
      const [root, a, b] = path.split('.');
      if (root === 'player') {
        if (a === undefined) this.allPlayer = true;
        else this.playerReads.add(a);
      } else if (root === 'event' && (a === undefined || a === 'data')) {
        if (a === undefined || b === undefined) this.allData = true;
        else this.dataReads.add(b);
      }
    }
    this.playerFields = this.allPlayer ? this.declaredPlayer : this.declaredPlayer.filter(([name]) => this.playerReads.has(name));
    this.dataFields = this.allData ? this.declaredData : this.declaredData.filter(([name]) => this.dataReads.has(name));
    // Contexts adapted before this expression was compiled may lack its fields.
    this.lastInput = null;
    this.lastContext = null;
    this.lastSource = null;
    this.lastPlayer = null;
  }

  adapt(input: ConditionInput): Context {
    if (input === this.lastInput && this.lastContext !== null) return this.lastContext;
    const e = input.event;
    const source = input.player ?? {};
    let player = source === this.lastSource ? this.lastPlayer : null;
    if (player === null) {
      player = pick(source, this.playerFields);
      this.lastSource = source;
      this.lastPlayer = player;
    }
    const ctx: Context = { player };
    if (this.withEvent) ctx.event = { type: e.type, id: e.id, ts: toCel(e.ts, 'int'), data: pick(e.data ?? {}, this.dataFields) };
    // Segment values are bools already; a segment's own input carries the values found so far (designer/segments.ts).
    if (this.segments) ctx.segment = input.segment ?? this.segments.values?.(input) ?? {};
    this.lastInput = input;
    this.lastContext = ctx;
    return ctx;
  }
}

/** Declared fields only; an absent, null or mistyped value is left out (reading it is an error, so the condition is false). */
function pick(src: Readonly<Record<string, unknown>>, fields: readonly [string, ValueType][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, type] of fields) {
    const v = toCel(src[name], type);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

function toCel(v: unknown, type: ValueType): unknown {
  switch (type) {
    case 'int':
    case 'timestamp':
      if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : undefined;
      return typeof v === 'bigint' ? v : undefined;
    case 'double':
      if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
      return typeof v === 'bigint' ? Number(v) : undefined;
    case 'string':
      return typeof v === 'string' ? v : undefined;
    case 'bool':
      return typeof v === 'boolean' ? v : undefined;
    case 'list':
      return Array.isArray(v) ? v.map(deep) : undefined;
    case 'map':
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? deep(v) : undefined;
  }
}

/** Inside maps and lists: integral numbers become ints, others doubles. */
function deep(v: unknown): unknown {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(deep);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x)]));
  }
  return v;
}
