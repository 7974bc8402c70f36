import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONSOLE_OUT_DIR, ensureConsoleBuilt } from './build.ts';

/**
 * The console's static files, served by the admin server without authentication (the page
 * holds no data; every API call it makes carries the admin token). Only the files of the
 * built console are served: no path from the request reaches the file system.
 */
const ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console.js.map': { file: 'console.js.map', type: 'application/json' },
  '/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
  '/uplot.css': { file: 'uplot.css', type: 'text/css; charset=utf-8' },
};

export interface Asset {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export function isConsolePath(path: string): boolean {
  return Object.hasOwn(ASSETS, path);
}

/**
 * The asset for `path`, or null when `path` is not a console file. Builds the console
 * first when it is missing (a fresh clone started without `npm run build`).
 */
export async function consoleAsset(path: string, outDir: string = CONSOLE_OUT_DIR): Promise<Asset | null> {
  const asset = ASSETS[path];
  if (!asset) return null;
  await ensureConsoleBuilt(outDir);
  const body = await readFile(join(outDir, asset.file));
  return {
    status: 200,
    headers: {
      'content-type': asset.type,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(asset.file === 'index.html'
        ? { 'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'" }
        : {}),
    },
    body,
  };
}
