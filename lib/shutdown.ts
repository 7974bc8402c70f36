import { createLogger } from './log.ts';
import { PlayPulseError } from './errors.ts';

const log = createLogger('shutdown');

type Step = { name: string; run: () => Promise<void> | void };
const steps: Step[] = [];
let started: Promise<void> | null = null;

/**
 * Registers a shutdown step. Steps run in reverse order of registration (last started,
 * first stopped): accept no more work, drain, commit, close clients.
 */
export function onShutdown(name: string, run: Step['run']): void {
  steps.push({ name, run });
}

/** Runs every step once, each bounded by `timeoutMs`; later calls return the same promise. */
export function shutdown(reason: string, timeoutMs = 15_000): Promise<void> {
  if (started) return started;
  started = (async () => {
    log.info({ reason }, 'shutting down');
    for (const step of [...steps].reverse()) {
      const t0 = Date.now();
      try {
        await withTimeout(Promise.resolve().then(step.run), timeoutMs, step.name);
        log.debug({ step: step.name, ms: Date.now() - t0 }, 'shutdown step done');
      } catch (err) {
        log.error({ err, step: step.name }, 'shutdown step failed');
      }
    }
  })();
  return started;
}

/**
 * The given signals (default SIGINT and SIGTERM) run the shutdown steps, then exit 0. A
 * signal repeated after a grace second forces exit 1; copies arriving within that second
 * are one request (a terminal's Ctrl-C reaches the process group, and launchers such as
 * npm forward it once more). A supervised child listens to SIGTERM only and ignores SIGINT:
 * its supervisor, not the terminal, decides when it drains.
 */
export function installSignalHandlers(signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): void {
  let firstAt = 0;
  const handler = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (firstAt === 0) {
      firstAt = now;
      void shutdown(signal).then(() => process.exit(0));
      return;
    }
    if (now - firstAt < FORCE_AFTER_MS) return;
    log.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  };
  for (const signal of signals) process.on(signal, handler);
  if (!signals.includes('SIGINT')) process.on('SIGINT', () => undefined);
}

const FORCE_AFTER_MS = 1_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new PlayPulseError('SHUTDOWN_TIMEOUT', `${what} did not finish within ${ms} ms`)), ms);
    timer.unref();
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        // programmer error: wraps a non-Error rejection so callers always get an Error
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
