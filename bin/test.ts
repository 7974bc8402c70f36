/**
 * `npm test`: the whole suite, in order — type-check, lint, unit and integration tests
 * against real Kafka and Redis (found or started by the test setup), then the
 * processors and offers integration tests and the processor-kill (30k events), budget and
 * poison integrity rows once more against a local 3-node Redis Cluster.
 * Extra arguments go to every vitest run (e.g. `npm test -- --reporter=verbose`).
 * Ends with one line `tests: N passed, M failed` over every vitest run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const extra = process.argv.slice(2);
const resultsDir = join('.cache', 'test-results');
rmSync(resultsDir, { recursive: true, force: true });
mkdirSync(resultsDir, { recursive: true });

interface Step {
  name: string;
  cmd: string[];
  env?: NodeJS.ProcessEnv;
  /** vitest JSON report of this step, counted in the closing line. */
  report?: string;
}

const vitest = (report: string, args: string[]): string[] => [
  'npx', 'vitest', 'run', ...args, '--reporter=default', '--reporter=json', `--outputFile.json=${join(resultsDir, report)}`, ...extra,
];

const steps: Step[] = [
  { name: 'type-check', cmd: ['npx', 'tsc', '--noEmit', '-p', 'tsconfig.json'] },
  { name: 'lint', cmd: ['npx', 'eslint', '.'] },
  { name: 'unit + integration', cmd: vitest('all.json', []), report: 'all.json' },
  {
    name: 'integration on Redis Cluster',
    cmd: vitest('cluster.json', [
      '--project', 'integration', 'test/integration/processors', 'test/integration/offers',
      'test/integrity/processor-kill.test.ts', 'test/integrity/budget.test.ts', 'test/integrity/poison.test.ts',
    ]),
    env: { PLAYPULSE_TEST_REDIS: 'cluster' },
    report: 'cluster.json',
  },
];

let passed = 0;
let failed = 0;
let status = 0;
for (const step of steps) {
  process.stdout.write(`\n=== ${step.name}: ${step.cmd.join(' ')}\n`);
  const t0 = Date.now();
  const [cmd, ...args] = step.cmd as [string, ...string[]];
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...step.env } });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (step.report) {
    const counts = readCounts(join(resultsDir, step.report));
    passed += counts.passed;
    failed += counts.failed;
  }
  if (r.status !== 0) {
    process.stdout.write(`\n=== ${step.name} FAILED after ${secs}s\n`);
    status = r.status ?? 1;
    break;
  }
  process.stdout.write(`=== ${step.name} passed in ${secs}s\n`);
}
process.stdout.write(`\ntests: ${passed} passed, ${failed} failed\n`);
process.exit(status);

function readCounts(file: string): { passed: number; failed: number } {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8')) as { numPassedTests?: number; numFailedTests?: number };
    return { passed: report.numPassedTests ?? 0, failed: report.numFailedTests ?? 0 };
  } catch {
    return { passed: 0, failed: 0 };
  }
}
