/**
 * Role processes for fault tests: `bin/start.ts --role <roles>` as real child processes
 * (node --import tsx), configured by environment only, stopped or killed with real signals.
 * Every child's output is kept in memory (bounded) so a failing test can show it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../infra/ports.ts';
import { sleep } from '../../lib/time.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START_SCRIPT = fileURLToPath(new URL('../../bin/start.ts', import.meta.url));

/** Resident memory of process `pid` now (Linux /proc), in bytes; 0 when it cannot be read. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}
const OUTPUT_LIMIT = 200_000;

export interface RoleProcess {
  readonly roles: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** The port serving /readyz and /metrics: EDGE_PORT with the edge, HEALTH_PORT otherwise. */
  readonly healthPort: number;
  readonly env: Readonly<Record<string, string>>;
  /** Resolves once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  output(): string;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `roles` (e.g. "edge", "processors", "processors,offers") with `env` on top of the
 * test's environment. Ports not given are chosen free. Does not wait for readiness.
 */
export async function spawnRoles(roles: string, env: Record<string, string>): Promise<RoleProcess> {
  const full: Record<string, string> = {
    PLAYPULSE_LOG_LEVEL: 'warn',
    PLAYPULSE_LOG_PRETTY: '0',
    ...env,
  };
  full.EDGE_PORT ??= String(await freePort());
  full.HEALTH_PORT ??= String(await freePort());
  full.ADMIN_PORT ??= String(await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', START_SCRIPT, '--role', roles], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...full },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start --role ${roles}`);
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    if (out.length > OUTPUT_LIMIT) out = out.slice(-OUTPUT_LIMIT / 2);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });
  const withEdge = roles.split(',').includes('edge');
  const proc: RoleProcess = {
    roles,
    child,
    pid: child.pid,
    healthPort: Number(withEdge ? full.EDGE_PORT : full.HEALTH_PORT),
    env: full,
    exited,
    alive: () => running,
    output: () => out,
    kill: (signal) => {
      if (running) child.kill(signal);
    },
    stop: async (graceMs = 20_000) => {
      if (!running) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  return proc;
}

/** GET http://127.0.0.1:<port><path>; null when nothing answers. */
export async function httpGet(port: number, path: string, timeoutMs = 2_000): Promise<{ status: number; body: string } | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch {
    return null;
  }
}

/** Polls `probe` every `intervalMs` until it returns a value other than undefined. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Waits until the process answers 200 on /readyz; fails early, with its output, if it exits. */
export async function waitReady(p: RoleProcess, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `--role ${p.roles} to be ready on port ${p.healthPort}`,
    async () => {
      if (!p.alive()) throw new Error(`--role ${p.roles} exited before it was ready:\n${p.output().slice(-4_000)}`);
      const r = await httpGet(p.healthPort, '/readyz');
      return r?.status === 200 ? true : undefined;
    },
    timeoutMs,
    150,
  );
}

/** Starts roles and waits until they are ready. */
export async function startRoles(roles: string, env: Record<string, string>, timeoutMs = 60_000): Promise<RoleProcess> {
  const p = await spawnRoles(roles, env);
  try {
    await waitReady(p, timeoutMs);
  } catch (err) {
    p.kill('SIGKILL');
    throw err;
  }
  return p;
}
