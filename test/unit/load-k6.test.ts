import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { buildK6Scripts, K6_SCRIPTS } from '../../load/k6/build.ts';

const outdir = mkdtempSync(join(tmpdir(), 'pp-k6-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('k6 scripts', () => {
  it('type-check against @types/k6', () => {
    const tsc = join(process.cwd(), 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', 'load/k6/tsconfig.json'], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('bundle into one ES module each, importing only k6 modules', async () => {
    const built = await buildK6Scripts(outdir);
    expect(built.map((b) => b.script)).toEqual([...K6_SCRIPTS]);
    for (const b of built) {
      const text = readFileSync(b.outfile, 'utf8');
      expect(text).toMatch(/export\s*\{[^}]*\boptions\b/);
      expect(b.imports.every((p) => p === 'k6' || p.startsWith('k6/'))).toBe(true);
      expect(b.imports).toContain('k6/websockets');
    }
  });

  it('encode and decode frames without TextEncoder, TextDecoder or Buffer (as in the k6 runtime)', async () => {
    const result = await build({
      stdin: {
        contents: `import { encodeFrame, decodeFrame } from './lib/codec.ts';
          globalThis.roundTrip = (frame) => decodeFrame(encodeFrame(frame));
          globalThis.encodeFrame = encodeFrame;`,
        resolveDir: join(process.cwd(), 'load', 'k6'),
        loader: 'ts',
      },
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      target: 'es2017',
    });
    const code = result.outputFiles[0]?.text ?? '';
    const sandbox: Record<string, unknown> = {};
    runInNewContext(code, sandbox);
    expect(runInNewContext('typeof TextEncoder + typeof Buffer', sandbox)).toBe('undefinedundefined');
    const frame = { t: 'evs', events: [{ id: 'a1', type: 'match.end', ts: 1_700_000_000_000, data: { result: 'loss', mode: 'ränked ✓'.repeat(20) } }] };
    const back = runInNewContext(`roundTrip(${JSON.stringify(frame)})`, sandbox) as unknown;
    expect(JSON.parse(JSON.stringify(back))).toEqual(frame);
    const bytes = runInNewContext(`Array.from(new Uint8Array(encodeFrame({ t: 'ping', n: 1 })))`, sandbox) as number[];
    expect(bytes).toEqual([0x82, 0xa1, 0x74, 0xa4, 0x70, 0x69, 0x6e, 0x67, 0xa1, 0x6e, 0x01]);
  });
});
