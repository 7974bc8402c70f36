import { parse } from 'yaml';
import { unifiedDiff } from './line-diff.ts';
import { MAX_ALIAS_COUNT } from './yaml-doc.ts';

export interface FileDiff {
  readonly name: string;
  readonly status: 'added' | 'removed' | 'changed';
  /** Unified-style diff of the file's lines. */
  readonly diff: string;
}

export interface SemanticSummary {
  readonly rulesAdded: string[];
  readonly rulesRemoved: string[];
  readonly rulesChanged: string[];
  readonly propertiesAdded: string[];
  readonly propertiesRemoved: string[];
  readonly propertiesChanged: string[];
  readonly eventsAdded: string[];
  readonly eventsRemoved: string[];
  readonly eventsChanged: string[];
  readonly segmentsAdded: string[];
  readonly segmentsRemoved: string[];
  readonly segmentsChanged: string[];
  readonly policyChanged: boolean;
}

export interface BundleDiff {
  /** False when both sides hold the same files with the same text. */
  readonly changed: boolean;
  /** Added, removed and changed files, by name; unchanged files are left out. */
  readonly files: FileDiff[];
  readonly summary: SemanticSummary;
}

/**
 * What changes from `oldFiles` (e.g. the published version) to `newFiles` (e.g. a folder):
 * a line diff per file and a summary by rule id, property, event and segment name. Works on bundles
 * that do not compile too: the summary reads the YAML, skipping what does not parse.
 */
export function diffBundles(oldFiles: Readonly<Record<string, string>>, newFiles: Readonly<Record<string, string>>): BundleDiff {
  const names = [...new Set([...Object.keys(oldFiles), ...Object.keys(newFiles)])].sort();
  const files: FileDiff[] = [];
  for (const name of names) {
    // Own files only: a name like `toString` must not find Object.prototype's.
    const before = Object.hasOwn(oldFiles, name) ? oldFiles[name] : undefined;
    const after = Object.hasOwn(newFiles, name) ? newFiles[name] : undefined;
    if (before === after) continue;
    const status = before === undefined ? 'added' : after === undefined ? 'removed' : 'changed';
    files.push({
      name,
      status,
      diff: unifiedDiff(before === undefined ? '/dev/null' : `a/${name}`, after === undefined ? '/dev/null' : `b/${name}`, before ?? '', after ?? ''),
    });
  }
  const o = entities(oldFiles);
  const n = entities(newFiles);
  const [rulesAdded, rulesRemoved, rulesChanged] = compare(o.rules, n.rules);
  const [propertiesAdded, propertiesRemoved, propertiesChanged] = compare(o.properties, n.properties);
  const [eventsAdded, eventsRemoved, eventsChanged] = compare(o.events, n.events);
  const [segmentsAdded, segmentsRemoved, segmentsChanged] = compare(o.segments, n.segments);
  return {
    changed: files.length > 0,
    files,
    summary: {
      rulesAdded,
      rulesRemoved,
      rulesChanged,
      propertiesAdded,
      propertiesRemoved,
      propertiesChanged,
      eventsAdded,
      eventsRemoved,
      eventsChanged,
      segmentsAdded,
      segmentsRemoved,
      segmentsChanged,
      policyChanged: o.policy !== n.policy,
    },
  };
}

/** Human-readable text of a diff, as `rules diff` prints it. */
export function formatBundleDiff(d: BundleDiff): string {
  if (!d.changed) return 'no changes\n';
  const s = d.summary;
  const lines: string[] = [];
  const list = (label: string, items: string[]) => {
    if (items.length) lines.push(`${label}: ${items.join(', ')}`);
  };
  list('rules added', s.rulesAdded);
  list('rules removed', s.rulesRemoved);
  list('rules changed', s.rulesChanged);
  list('properties added', s.propertiesAdded);
  list('properties removed', s.propertiesRemoved);
  list('properties changed', s.propertiesChanged);
  list('events added', s.eventsAdded);
  list('events removed', s.eventsRemoved);
  list('events changed', s.eventsChanged);
  list('segments added', s.segmentsAdded);
  list('segments removed', s.segmentsRemoved);
  list('segments changed', s.segmentsChanged);
  if (s.policyChanged) lines.push('policy changed');
  return `${lines.join('\n')}\n\n${d.files.map((f) => f.diff).join('\n')}`;
}

interface Entities {
  readonly rules: Map<string, string>;
  readonly properties: Map<string, string>;
  readonly events: Map<string, string>;
  readonly segments: Map<string, string>;
  readonly policy: string;
}

/** Canonical JSON per rule id, property and event, so formatting-only edits are not changes. */
function entities(files: Readonly<Record<string, string>>): Entities {
  const rules = new Map<string, string>();
  const properties = new Map<string, string>();
  const events = new Map<string, string>();
  const segments = new Map<string, string>();
  let policy = '';
  for (const [name, text] of Object.entries(files)) {
    const value = safeParse(text);
    const kind = name.replace(/\.ya?ml$/, '');
    // A value canonical JSON cannot write (an alias that contains itself) stands for itself by the file's text.
    const canon = (v: unknown): string => safeCanonical(v, text);
    if (kind === 'events') for (const [k, v] of entries(value, 'events')) events.set(k, canon(v));
    else if (kind === 'properties') for (const [k, v] of entries(value, 'properties')) properties.set(k, canon(v));
    else if (kind === 'segments') for (const [k, v] of entries(value, 'segments')) segments.set(k, canon(v));
    else if (kind === 'policy') policy = canon(value);
    else if (value && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string') rules.set((value as { id: string }).id, canon(value));
  }
  return { rules, properties, events, segments, policy };
}

function entries(value: unknown, key: string): [string, unknown][] {
  const inner = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return inner && typeof inner === 'object' && !Array.isArray(inner) ? Object.entries(inner) : [];
}

function safeParse(text: string): unknown {
  try {
    return parse(text, { maxAliasCount: MAX_ALIAS_COUNT });
  } catch {
    return undefined;
  }
}

/** canonical(v), or the file's own text when `v` is cyclic (YAML `a: &a [*a]`) or nested too deep to write. */
function safeCanonical(v: unknown, text: string): string {
  try {
    return canonical(v);
  } catch {
    return `(unwritable) ${text}`;
  }
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

function compare(a: Map<string, string>, b: Map<string, string>): [string[], string[], string[]] {
  const added = [...b.keys()].filter((k) => !a.has(k)).sort();
  const removed = [...a.keys()].filter((k) => !b.has(k)).sort();
  const changed = [...b.keys()].filter((k) => a.has(k) && a.get(k) !== b.get(k)).sort();
  return [added, removed, changed];
}
