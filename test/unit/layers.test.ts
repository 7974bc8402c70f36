/**
 * The layer rule of docs/internals.md, held to the code: every relative import of a non-test
 * source file points to its own folder or to a folder of a lower layer, and no chain of
 * imports between files comes back to where it started (type-only imports count: a cycle is
 * as hard to read either way).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Lowest first; the same order as docs/internals.md. A folder may import its own files and
 * those of any folder in a lower row, never one in its own row or above.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['lib'],
  ['infra'],
  ['designer'],
  ['protocol'],
  ['edge', 'processors', 'sdk'],
  ['offers'],
  ['bin'],
  ['load'],
];

const rank = new Map(LAYERS.flatMap((row, i) => row.map((folder) => [folder, i] as const)));

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'static' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const SPECIFIERS = [
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g,
  /(?:^|[\s;])import\s*['"]([^'"]+)['"]/g,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/** The repo-relative files a source file imports by relative path (packages are not followed). */
export function importsOf(file: string, text: string): string[] {
  const out = new Set<string>();
  for (const re of SPECIFIERS) {
    for (const m of text.matchAll(re)) {
      const spec = m[1] as string;
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(join(ROOT, file)), spec);
      if (existsSync(target) && statSync(target).isFile()) out.add(relative(ROOT, target));
    }
  }
  return [...out];
}

const folderOf = (file: string): string => file.split('/')[0] as string;

function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const folder of rank.keys()) {
    const dir = join(ROOT, folder);
    if (!existsSync(dir)) continue;
    for (const abs of sourceFiles(dir)) {
      const file = relative(ROOT, abs);
      g.set(file, importsOf(file, readFileSync(abs, 'utf8')));
    }
  }
  return g;
}

/** Imports that leave their folder for one that is not in a lower layer. */
export function upwardImports(g: ReadonlyMap<string, readonly string[]>): string[] {
  const bad: string[] = [];
  for (const [file, targets] of g) {
    const from = folderOf(file);
    for (const target of targets) {
      const to = folderOf(target);
      if (to === from) continue;
      const ok = rank.has(to) && (rank.get(to) as number) < (rank.get(from) as number);
      if (!ok) bad.push(`${file} -> ${target}`);
    }
  }
  return bad;
}

/** Every import cycle found by a depth-first walk, each as the files around it. */
export function cycles(g: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of g.get(file) ?? []) {
      if (!g.has(next)) continue;
      const s = state.get(next);
      if (s === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...g.keys()].sort()) if (!state.has(file)) visit(file);
  return found;
}

describe('layers', () => {
  const g = graph();

  it('reads the source tree', () => {
    expect(g.size).toBeGreaterThan(100);
    expect(g.get('offers/index.ts')).toContain('processors/state.ts');
  });

  it('has no import from a folder to one of its own layer or above', () => {
    expect(upwardImports(g)).toEqual([]);
  });

  it('has no import cycle between files', () => {
    expect(cycles(g).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('catches an upward import and a cycle', () => {
    const bad = new Map([
      ['lib/a.ts', ['offers/b.ts']],
      ['offers/b.ts', ['lib/a.ts']],
    ]);
    expect(upwardImports(bad)).toEqual(['lib/a.ts -> offers/b.ts']);
    expect(cycles(bad)).toEqual([['lib/a.ts', 'offers/b.ts', 'lib/a.ts']]);
  });
});
