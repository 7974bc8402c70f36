/**
 * Every document a source file cites must be in the repository: `docs/<name>.md`, optionally
 * with a section (`docs/contract.md §3`, `§2–§3`, `[docs/protocol.md](docs/protocol.md) §5a`),
 * and relative Markdown links between documents (`[designers.md](designers.md)`). A section
 * `§n` must be a heading `## n.` (or `### n.`) of the cited file. Top-level documents that
 * were never in the repository (`CONTRACT.md`, `DESIGN.md`) are refused outright.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const SOURCE = /\.(ts|lua|md)$/;
const SKIP = /(^|\/)(node_modules|\.cache)\/|^test\/unit\/doc-references\.test\.ts$/;

/** `docs/x.md`, then an optional `)` of a link and an optional `§n` or `§n–§m`. */
const DOC_REF = /(?<![\w/.-])((?:[\w.-]+\/)*docs\/[\w.-]+\.md)\)?(?: ?§(\d+[a-z]?)(?:\s*[–-]\s*§?(\d+[a-z]?))?)?/g;
/** A relative Markdown link to a `.md` file, in Markdown files only. */
const MD_LINK = /\]\(((?!https?:|#|\/)[^)\s#]+\.md)(?:#[^)]*)?\)/g;
/** Documents cited in the past that are not, and never were, in the repository. */
const ABSENT = /(?<![\w/.-])(CONTRACT|DESIGN)\.md/g;

export interface DocProblem {
  readonly file: string;
  readonly line: number;
  readonly ref: string;
  readonly problem: string;
}

function sourceFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  return out.split('\n').filter((f) => SOURCE.test(f) && !SKIP.test(f) && existsSync(join(ROOT, f)));
}

const headingCache = new Map<string, Set<string>>();

/** The section numbers (`3`, `5a`) of a document's numbered headings. */
function sections(repoPath: string): Set<string> {
  let found = headingCache.get(repoPath);
  if (found === undefined) {
    found = new Set();
    for (const m of readFileSync(join(ROOT, repoPath), 'utf8').matchAll(/^#{2,3} (\d+[a-z]?)\.\s/gm)) found.add(m[1]!);
    headingCache.set(repoPath, found);
  }
  return found;
}

/** The problems of the references in one file's text; `file` is its path in the repository. */
export function checkReferences(file: string, text: string, exists: (repoPath: string) => boolean): DocProblem[] {
  const problems: DocProblem[] = [];
  const lines = text.split('\n');
  lines.forEach((lineText, i) => {
    const at = (ref: string, problem: string): void => void problems.push({ file, line: i + 1, ref, problem });
    for (const m of lineText.matchAll(ABSENT)) at(m[0], 'not a document of this repository; cite docs/contract.md');
    for (const m of lineText.matchAll(DOC_REF)) {
      const target = normalize(m[1]!.replace(/^(\.\.?\/)+/, ''));
      const path = target.startsWith('docs/') ? target : target.slice(target.indexOf('docs/'));
      if (!exists(path)) {
        at(m[0], `${path} does not exist`);
        continue;
      }
      for (const section of [m[2], m[3]]) {
        if (section !== undefined && !sections(path).has(section)) at(m[0], `${path} has no heading "${section}."`);
      }
    }
    if (file.endsWith('.md')) {
      for (const m of lineText.matchAll(MD_LINK)) {
        const path = normalize(join(dirname(file), m[1]!));
        if (!exists(path)) at(m[0], `${path} does not exist`);
      }
    }
  });
  return problems;
}

describe('document references', () => {
  it('cite only documents and sections that exist in the repository', () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(50);
    const exists = (p: string): boolean => existsSync(join(ROOT, p));
    const problems = files.flatMap((f) => checkReferences(f, readFileSync(join(ROOT, f), 'utf8'), exists));
    expect(problems.map((p) => `${p.file}:${p.line}: ${p.ref}: ${p.problem}`)).toEqual([]);
  });

  it('catches a missing document, a missing section and an absent top-level document', () => {
    const text = 'see docs/nowhere.md\nsee docs/contract.md §99\nsee CONTRACT.md §3\nsee docs/protocol.md §5a';
    const problems = checkReferences('x.ts', text, (p) => existsSync(join(ROOT, p)));
    expect(problems.map((p) => p.line)).toEqual([1, 2, 3]);
  });
});
