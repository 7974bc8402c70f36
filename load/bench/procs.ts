/**
 * Processes of the system under test and its peers, each started on its own (never inside
 * the harness), with its output in a log file of the run. Also reads a process's memory and
 * CPU from /proc, so figures are the kernel's, not the process's own account.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../lib/time.ts';

export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `node --import tsx <script> <args>` with `env`; `nodeFlags` e.g. ["--cpu-prof"]. */
export function startNode(opts: {
  name: string;
  script: string;
  args?: string[];
  env: NodeJS.ProcessEnv;
  logDir: string;
  nodeFlags?: string[];
  cwd?: string;
}): Proc {
  const log = createWriteStream(join(opts.logDir, `${opts.name}.log`));
  const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), '--import', 'tsx', opts.script, ...(opts.args ?? [])], {
    env: opts.env,
    cwd: opts.cwd ?? process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  // programmer error: bench harness only; a process that fails to start is a bug of the bench
  if (child.pid === undefined) throw new Error(`could not start ${opts.name}`);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    name: opts.name,
    pid: child.pid,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Polls `url` until it answers 200, the process dies, or `timeoutMs` passes. */
export async function waitReady(proc: Proc, url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      // programmer error: bench harness only; a process that fails to start is a bug of the bench
      throw new Error(`${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}) before it was ready; see its log`);
    }
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
      last = `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(250);
  }
  // programmer error: bench harness only; a process that fails to start is a bug of the bench
  throw new Error(`${proc.name} not ready at ${url} within ${timeoutMs} ms (${last})`);
}

/** Resident set size of a process in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** CPU time (user + system) of a process in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

/** Open-file limit of a process (soft, hard). */
export function fileLimit(pid: number | 'self'): { soft: number; hard: number } {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(limits);
  const n = (s: string | undefined) => (s === 'unlimited' || s === undefined ? Infinity : Number(s));
  return { soft: n(m?.[1]), hard: n(m?.[2]) };
}

/** A value of a Prometheus text exposition, summed over label sets; null when absent. */
export async function scrapeMetric(url: string, name: string): Promise<number | null> {
  try {
    const text = await (await fetch(url)).text();
    let sum: number | null = null;
    for (const line of text.split('\n')) {
      if (line.startsWith('#')) continue;
      if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
        const v = Number(line.slice(line.lastIndexOf(' ') + 1));
        if (Number.isFinite(v)) sum = (sum ?? 0) + v;
      }
    }
    return sum;
  } catch {
    return null;
  }
}
