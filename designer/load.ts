import { readdirSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PlayPulseError, errorMessage } from '../lib/errors.ts';
import { MAX_FILES } from './compile.ts';
import { diagnostic } from './diagnostics.ts';
import type { Diagnostic } from './types.ts';
import { MAX_FILE_BYTES } from './yaml-doc.ts';

/**
 * Reads the designer files of a folder: `*.yaml` and `*.yml`, not recursive. Refuses,
 * without reading them, a file over 256 KiB and a folder with more than 200 such files.
 */
export function loadBundleDir(dir: string): { files: Record<string, string>; diagnostics: Diagnostic[] } {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => (e.isFile() || e.isSymbolicLink()) && /\.ya?ml$/.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    throw new PlayPulseError('RULE_SCHEMA', `cannot read the rules folder ${dir}: ${errorMessage(err)}`);
  }
  const start = { line: 1, column: 1 };
  if (names.length > MAX_FILES) {
    return {
      files: {},
      diagnostics: [diagnostic('error', 'RULE_SCHEMA', dir, start, `the folder holds ${names.length} YAML files; a bundle holds at most ${MAX_FILES}`, 'merge or remove rules')],
    };
  }
  const files: Record<string, string> = {};
  const diagnostics: Diagnostic[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const size = statSync(path).size;
    if (size > MAX_FILE_BYTES) {
      diagnostics.push(diagnostic('error', 'RULE_YAML', name, start, `file is ${Math.ceil(size / 1024)} KiB, over the ${MAX_FILE_BYTES / 1024} KiB limit; not read`, 'split it or remove unused entries'));
      continue;
    }
    files[name] = readFileSync(path, 'utf8');
  }
  return { files, diagnostics };
}

/**
 * File name -> YAML text of a folder's designer files. Throws a PlayPulseError (RULE_YAML
 * or RULE_SCHEMA) with `details.diagnostics` when a limit is exceeded or the folder cannot
 * be read.
 */
export function readBundleDir(dir: string): Record<string, string> {
  const { files, diagnostics } = loadBundleDir(dir);
  const first = diagnostics[0];
  if (first) {
    throw new PlayPulseError(first.code === 'RULE_YAML' ? 'RULE_YAML' : 'RULE_SCHEMA', `${first.file}: ${first.message}`, { diagnostics });
  }
  return files;
}
