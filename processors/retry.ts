/**
 * Waiting inside a Kafka batch: while a step is slow or being retried, the consumer must keep
 * heartbeating (or the group rebalances it away) and give up as soon as the batch is no
 * longer its own (`isRunning()` false, `isStale()` true).
 */
import { sleep } from '../lib/time.ts';
export interface BatchControl {
  heartbeat(): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
}

export const HEARTBEAT_EVERY_MS = 1_000;
export const BACKOFF_FIRST_MS = 100;
export const BACKOFF_MAX_MS = 5_000;

/** Runs `work` while heartbeating every second in the background. */
export async function withHeartbeat<T>(control: BatchControl, work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => {
    control.heartbeat().catch(() => undefined);
  }, HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** Exponential backoff, capped: 100 ms, 200 ms, 400 ms … `maxMs` (5 s). */
export function backoffMs(attempt: number, maxMs: number = BACKOFF_MAX_MS): number {
  return Math.min(BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 16), maxMs);
}

export interface RetryHooks {
  onFailure(err: unknown, attempt: number): void;
  onRecovered(): void;
  /** Cap of the backoff between attempts; default BACKOFF_MAX_MS. */
  readonly backoffMaxMs?: number;
}

/**
 * Runs `work` until it succeeds, backing off between attempts and heartbeating all along.
 * Returns `{ done: false }` when the batch stopped being ours; nothing is skipped.
 */
export async function untilDone<T>(control: BatchControl, hooks: RetryHooks, work: () => Promise<T>): Promise<{ done: true; value: T } | { done: false }> {
  for (let attempt = 0; ; attempt++) {
    if (!control.isRunning() || control.isStale()) return { done: false };
    try {
      const value = await withHeartbeat(control, work);
      if (attempt > 0) hooks.onRecovered();
      return { done: true, value };
    } catch (err) {
      hooks.onFailure(err, attempt);
      await withHeartbeat(control, () => pause(control, backoffMs(attempt, hooks.backoffMaxMs)));
    }
  }
}


/** Sleeps `ms`, cut short when the batch stops being ours. */
async function pause(control: BatchControl, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && control.isRunning() && !control.isStale()) await sleep(Math.min(100, until - Date.now()));
}
