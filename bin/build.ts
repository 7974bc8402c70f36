/**
 * `npm run build`: bundles the designer console (offers/console) into dist/console, which
 * the admin server serves at `/`. The admin server also builds it on start when missing.
 */
import { relative } from 'node:path';
import { buildConsole } from '../offers/console/build.ts';

const t0 = Date.now();
const out = await buildConsole();
process.stdout.write(`console built into ${relative(process.cwd(), out) || '.'} in ${Date.now() - t0} ms\n`);
