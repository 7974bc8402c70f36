import { existsSync, mkdirSync, copyFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/** The folder of the built console (git-ignored): index.html, console.css, console.js, uplot.css. */
export const CONSOLE_OUT_DIR = resolve(here, '../../dist/console');
const STATIC_DIR = join(here, 'static');
const ENTRY = join(here, 'src/main.ts');
/** uPlot's stylesheet, served from the package as /uplot.css (its code is bundled into console.js). */
const UPLOT_CSS = createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css');

/**
 * Bundles the console's one browser module with esbuild and copies the static files next
 * to it. Idempotent; returns the output folder.
 */
export async function buildConsole(outDir: string = CONSOLE_OUT_DIR): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  for (const file of readdirSync(STATIC_DIR)) copyFileSync(join(STATIC_DIR, file), join(outDir, file));
  copyFileSync(UPLOT_CSS, join(outDir, 'uplot.css'));
  await build({
    entryPoints: [ENTRY],
    outfile: join(outDir, 'console.js'),
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'silent',
  });
  return outDir;
}

/** True when every file the console page needs is in `outDir` and newer than its sources. */
export function consoleIsBuilt(outDir: string = CONSOLE_OUT_DIR): boolean {
  const outputs = ['index.html', 'console.css', 'console.js', 'uplot.css'].map((f) => join(outDir, f));
  if (!outputs.every((f) => existsSync(f))) return false;
  const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  return newestSource() <= built;
}

function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  walk(STATIC_DIR);
  walk(dirname(ENTRY));
  return newest;
}

const building = new Map<string, Promise<string>>();

/**
 * Builds the console when it is missing or older than its sources (a fresh clone started
 * without `npm run build`, or a pull); once per process and folder, concurrent callers
 * share the build.
 */
export function ensureConsoleBuilt(outDir: string = CONSOLE_OUT_DIR): Promise<string> {
  let p = building.get(outDir);
  if (!p) {
    p = consoleIsBuilt(outDir) ? Promise.resolve(outDir) : buildConsole(outDir);
    building.set(outDir, p);
    p.catch(() => building.delete(outDir));
  }
  return p;
}
