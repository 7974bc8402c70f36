import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isPlayPulseError } from '../lib/errors.ts';
import { loadBundleDir, readBundleDir } from './load.ts';

describe('readBundleDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bundle-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads *.yaml and *.yml of the folder itself, nothing else', () => {
    writeFileSync(join(dir, 'events.yaml'), 'events: {}\n');
    writeFileSync(join(dir, 'rule.yml'), 'id: r\n');
    writeFileSync(join(dir, 'notes.md'), '# notes\n');
    mkdirSync(join(dir, 'old'));
    writeFileSync(join(dir, 'old', 'x.yaml'), 'id: x\n');
    expect(readBundleDir(dir)).toEqual({ 'events.yaml': 'events: {}\n', 'rule.yml': 'id: r\n' });
  });

  it('refuses a file over 256 KiB without reading it', () => {
    writeFileSync(join(dir, 'big.yaml'), `# ${'x'.repeat(257 * 1024)}\n`);
    writeFileSync(join(dir, 'ok.yaml'), 'id: ok\n');
    const { files, diagnostics } = loadBundleDir(dir);
    expect(files).toEqual({ 'ok.yaml': 'id: ok\n' });
    expect(diagnostics).toEqual([expect.objectContaining({ severity: 'error', code: 'RULE_YAML', file: 'big.yaml', line: 1, column: 1 })]);
    expect(() => readBundleDir(dir)).toThrow(/big\.yaml: file is 258 KiB, over the 256 KiB limit; not read/);
  });

  it('refuses a folder with more than 200 YAML files', () => {
    for (let i = 0; i < 201; i++) writeFileSync(join(dir, `r${i}.yaml`), `id: r${i}\n`);
    try {
      readBundleDir(dir);
      expect.unreachable();
    } catch (err) {
      expect(isPlayPulseError(err, 'RULE_SCHEMA')).toBe(true);
      expect((err as Error).message).toContain('holds 201 YAML files; a bundle holds at most 200');
    }
  });

  it('names a folder it cannot read', () => {
    expect(() => readBundleDir(join(dir, 'missing'))).toThrow(/cannot read the rules folder/);
  });
});
