/**
 * Bundles the k6 scripts into load/k6/dist/<name>.js (git-ignored) with esbuild: one ES
 * module per script, the shared scenarios and msgpackr inlined, `k6` and `k6/*` left as
 * imports for k6 to resolve. Target ES2017 syntax so older k6 runtimes parse the bundles.
 *
 *   npx tsx load/k6/build.ts      (npm run k6:build)
 */
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { errorMessage } from '../../lib/errors.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The scripts studios run, by file name under load/k6/. */
export const K6_SCRIPTS = ['ingest.ts', 'offers.ts', 'soak.ts', 'reconnect-storm.ts'] as const;

export interface BuiltScript {
  readonly script: string;
  readonly outfile: string;
  readonly bytes: number;
  /** Every import the bundle keeps: only k6 modules. */
  readonly imports: readonly string[];
}

export async function buildK6Scripts(outdir = join(HERE, 'dist')): Promise<BuiltScript[]> {
  mkdirSync(outdir, { recursive: true });
  const built: BuiltScript[] = [];
  for (const script of K6_SCRIPTS) {
    const outfile = join(outdir, script.replace(/\.ts$/, '.js'));
    const result = await build({
      entryPoints: [join(HERE, script)],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      target: 'es2017',
      external: ['k6', 'k6/*'],
      metafile: true,
      logLevel: 'silent',
      legalComments: 'none',
      sourcemap: false,
    });
    const out = Object.values(result.metafile.outputs)[0];
    const imports = (out?.imports ?? []).map((i) => i.path);
    const foreign = imports.filter((p) => p !== 'k6' && !p.startsWith('k6/'));
    // programmer error: a k6 script imports a module k6 cannot load; fix the script
    if (foreign.length > 0) throw new Error(`${script}: bundle imports modules k6 cannot load: ${foreign.join(', ')}`);
    built.push({ script, outfile, bytes: out?.bytes ?? 0, imports });
  }
  return built;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildK6Scripts().then(
    (built) => {
      for (const b of built) process.stdout.write(`${b.outfile}  ${(b.bytes / 1024).toFixed(1)} KiB  imports: ${b.imports.join(', ')}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`k6 build failed: ${errorMessage(err)}\n`);
      process.exit(1);
    },
  );
}
