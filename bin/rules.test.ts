import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleWith } from '../designer/testing/sample.ts';

const rules = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'bin/rules.ts', ...args], { encoding: 'utf8' });

describe('npm run rules -- validate', () => {
  it('accepts the sample game and prints file:line:col diagnostics for a bad folder, exiting 1', () => {
    const ok = rules('validate', 'offers/rules');
    expect(ok).toMatchObject({ status: 0, stderr: '', stdout: 'valid: 0 errors, 0 warnings; 9 rules, 2 segments, 10 properties, 11 events\n' });

    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    try {
      const files = sampleWith('comeback-bundle.yaml', (t) => t.replace('player.loss_streak', 'player.los_streak').replace('ttl: 15m', 'ttl: 2d'));
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      const bad = rules('validate', dir);
      expect(bad.status).toBe(1);
      expect(bad.stderr.split('\n')).toEqual([
        `${join(dir, 'comeback-bundle.yaml')}:9:48: error RULE_REFERENCE \`player\` has no field \`los_streak\`; it is not declared in properties.yaml (did you mean \`loss_streak\`?)`,
        `${join(dir, 'comeback-bundle.yaml')}:15:8: warning RULE_CONFLICT offer ttl 2d is longer than the cooldown 24h: a player may hold two live offers of this rule (make the ttl at most 1d or the cooldown longer)`,
        '',
      ]);
      expect(bad.stdout).toBe('invalid: 1 errors, 1 warnings\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints usage and exits 2 on a wrong call', () => {
    const r = rules('validate');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('usage: npm run rules -- validate <dir>\n');
    expect(rules('frobnicate').stderr).toMatch(/^unknown command "frobnicate"\nusage: npm run rules -- <command>\n/);
  });

  it('checks that the committed JSON Schemas are current', () => {
    expect(rules('schemas', '--check')).toMatchObject({ status: 0, stderr: '' });
  });
});
