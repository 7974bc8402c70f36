import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileBundle, type CompileResult } from '../compile.ts';
import type { Bundle, Diagnostic } from '../types.ts';

/** The sample game's folder (offers/rules). */
export const SAMPLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'offers', 'rules');

/** The sample game's files, file name -> text; a fresh copy per call. */
export function sampleFiles(): Record<string, string> {
  return Object.fromEntries(
    readdirSync(SAMPLE_DIR)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => [f, readFileSync(join(SAMPLE_DIR, f), 'utf8')]),
  );
}

/** The sample game compiled; throws when it does not compile. */
export function sampleBundle(version = 0): Bundle {
  const r = compileBundle(sampleFiles(), { version });
  // programmer error: test helper: the sample rules and edits ship in the repository
  if (!r.ok) throw new Error(`sample rules do not compile: ${JSON.stringify(r.diagnostics)}`);
  return r.bundle;
}

/** The sample files with one file's text edited by `edit` (which must change it). */
export function sampleWith(file: string, edit: (text: string) => string): Record<string, string> {
  const files = sampleFiles();
  const before = files[file];
  // programmer error: test helper: the sample rules and edits ship in the repository
  if (before === undefined) throw new Error(`no sample file ${file}`);
  const after = edit(before);
  // programmer error: test helper: the sample rules and edits ship in the repository
  if (after === before) throw new Error(`the edit of ${file} changed nothing`);
  return { ...files, [file]: after };
}

/** Every diagnostic of a result: errors when it failed, warnings when it compiled. */
export function diagnosticsOf(r: CompileResult): Diagnostic[] {
  return r.ok ? r.warnings : r.diagnostics;
}
