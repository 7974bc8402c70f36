import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PlayPulseError } from '../lib/errors.ts';

const WATCHDOG = fileURLToPath(new URL('./watchdog.sh', import.meta.url));

export interface GuardedProcess {
  /** pid of the watchdog shell; the service is its only child. */
  readonly pid: number;
  /** Resolves with the exit code (or signal name) once the watchdog, and so the service, is gone. */
  readonly exited: Promise<number | string>;
  /** True until `exited` resolves. */
  alive(): boolean;
  /**
   * Stops the service: TERM, then KILL after the grace period, then its data directory is
   * removed. Resolves when all of that is done; idempotent.
   */
  stop(): Promise<void>;
  /**
   * Sends `signal` to the service itself, not to its watchdog (SIGKILL: a crash of the
   * service; the watchdog then exits with it and leaves its data directory in place).
   * False when the service is already gone.
   */
  signalService(signal: NodeJS.Signals): boolean;
}

export interface GuardedOptions {
  /** Output of the service (stdout and stderr) is appended to this file. */
  logFile: string;
  /** Removed by the watchdog once the service has exited; null keeps everything. */
  removeDirOnExit: string | null;
  /** Seconds between TERM and KILL. */
  graceSec: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts `command` under infra/watchdog.sh, which holds the read end of a pipe from this
 * process: when this process ends in any way (SIGKILL included), the pipe closes and the
 * watchdog stops the service. The watchdog runs in its own process group, so a Ctrl-C in
 * the terminal reaches only this process, which then stops the service in its own order.
 * Nothing here keeps this process's event loop alive.
 */
export function startGuarded(command: string, args: readonly string[], options: GuardedOptions): GuardedProcess {
  const out = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', [WATCHDOG, String(options.graceSec), options.removeDirOnExit ?? '-', command, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', out, out],
      detached: true,
    });
  } finally {
    closeSync(out);
  }
  const pid = child.pid;
  if (pid === undefined) throw new PlayPulseError('STACK_UNAVAILABLE', `could not start ${command}`);
  let running = true;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve(code ?? signal ?? 'unknown');
    });
  });
  child.stdin?.on('error', () => undefined);
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    if (stopping) return stopping;
    stopping = (async () => {
      if (!running) return;
      child.stdin?.destroy();
      const hardDeadline = (options.graceSec + 10) * 1000;
      const timer = setTimeout(() => killGroup(pid), hardDeadline);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };
  const signalService = (signal: NodeJS.Signals): boolean => {
    const service = running ? serviceChildOf(pid) : null;
    if (service === null) return false;
    try {
      process.kill(service, signal);
      return true;
    } catch {
      return false;
    }
  };
  return { pid, exited, alive: () => running, stop, signalService };
}

/** The pid of the service under a watchdog: its one child that is not the watchdog's own shell. */
function serviceChildOf(watchdogPid: number): number | null {
  let children: number[];
  try {
    children = readFileSync(`/proc/${watchdogPid}/task/${watchdogPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return null;
  }
  for (const child of children) {
    try {
      if (!readFileSync(`/proc/${child}/cmdline`, 'utf8').startsWith('/bin/sh')) return child;
    } catch {
      continue;
    }
  }
  return null;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
}
