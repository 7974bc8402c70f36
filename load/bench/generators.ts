/**
 * Runs load-generator processes (gen/worker.ts) for one bench phase: forks one per job,
 * waits until every one has its sockets ready, lets the caller act (e.g. sample memory),
 * says `go` to all at once and collects the results. Every phase is bounded by `timeoutMs`;
 * generators that overrun are killed and the phase fails.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromGenerator, Job, JobResult, Ready } from './gen/jobs.ts';

const WORKER = fileURLToPath(new URL('./gen/worker.ts', import.meta.url));

export interface PhaseOutcome {
  readonly readies: Ready[];
  readonly results: JobResult[];
}

export async function runGenerators(
  jobs: readonly Job[],
  opts: { timeoutMs: number; whenReady?: (readies: Ready[]) => Promise<void> },
): Promise<PhaseOutcome> {
  const children: ChildProcess[] = [];
  const kill = () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL'));
  const timer = setTimeout(kill, opts.timeoutMs);
  try {
    const waits = jobs.map((job) => {
      const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      let onReady: (r: Ready) => void = () => undefined;
      const ready = new Promise<Ready>((res) => (onReady = res));
      const result = new Promise<JobResult>((resolve, reject) => {
        child.on('message', (m: FromGenerator) => {
          if (m.type === 'ready') onReady(m);
          else if (m.type === 'result') resolve(m);
          // programmer error: bench harness only; a failed load generator is a bug of the bench
          else reject(new Error(`load generator failed: ${m.message}`));
        });
        // programmer error: bench harness only; a failed load generator is a bug of the bench
        child.on('exit', (code, signal) => reject(new Error(`load generator exited (${code ?? signal}) before its result`)));
      });
      ready.catch(() => undefined);
      result.catch(() => undefined);
      child.send({ type: 'job', job });
      return { child, ready, result };
    });
    const readies = await Promise.race([
      Promise.all(waits.map((w) => w.ready)),
      Promise.all(waits.map((w) => w.result)).then(() => {
        // programmer error: bench harness only; a failed load generator is a bug of the bench
        throw new Error('load generator finished before it was ready');
      }),
      ...waits.map((w) => w.result.then(() => new Promise<never>(() => undefined))),
    ]);
    if (opts.whenReady) await opts.whenReady(readies);
    for (const w of waits) w.child.send({ type: 'go' });
    const results = await Promise.all(waits.map((w) => w.result));
    return { readies, results };
  } finally {
    clearTimeout(timer);
    kill();
  }
}

/** Splits `n` into `parts` near-equal shares. */
export function split(n: number, parts: number): number[] {
  const base = Math.floor(n / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < n % parts ? 1 : 0));
}
