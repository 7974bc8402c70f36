/**
 * Every error a user or operator can see is a PlayPulseError with a registered code
 * (lib/errors.ts, docs/errors.md). A plain `new Error(` in non-test source is allowed only
 * for a programmer error, with a `// programmer error: <reason>` comment on its line or the
 * line before.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const MARK = /\/\/ programmer error: \S/;

/** Files not checked, each with its reason. */
const ALLOWED: Readonly<Record<string, string>> = {
  'load/k6/lib/env.ts': 'runs inside k6, not Node: k6 scripts import no server module',
  'load/k6/lib/token.ts': 'runs inside k6, not Node: k6 scripts import no server module',
};

function sourceFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', '*.ts'], { cwd: ROOT, encoding: 'utf8' });
  return out
    .split('\n')
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('test/') && !/(^|\/)(node_modules|\.cache)\//.test(f))
    .filter((f) => !f.startsWith('offers/engine/lua/') && ALLOWED[f] === undefined && existsSync(join(ROOT, f)));
}

/** `file:line` of each plain `new Error(` without a programmer-error comment. */
export function unmarkedErrors(file: string, text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (!line.includes('new Error(')) return;
    if (MARK.test(line) || (i > 0 && MARK.test(lines[i - 1]!))) return;
    out.push(`${file}:${i + 1}: ${line.trim()}`);
  });
  return out;
}

describe('error registry rule', () => {
  it('throws plain Error only for programmer errors, each with its reason', () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(50);
    expect(files.flatMap((f) => unmarkedErrors(f, readFileSync(join(ROOT, f), 'utf8')))).toEqual([]);
  });

  it('accepts the reason on the line or the line before, and nothing else', () => {
    const text = [
      "throw new Error('a');",
      '// programmer error: scripts ship in the repository',
      "throw new Error('b');",
      "throw new Error('c'); // programmer error: never reached",
      '// programmer error:',
      "throw new Error('d');",
    ].join('\n');
    expect(unmarkedErrors('x.ts', text).map((l) => l.split(':')[1])).toEqual(['1', '6']);
  });
});
