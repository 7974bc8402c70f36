/**
 * Reconnect delay: exponential from `baseMs` up to `maxMs`, with full jitter (a random
 * delay between half and all of the step), so a fleet of clients dropped at once does not
 * come back at once. Pure apart from `random`.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const step = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(step / 2 + (random() * step) / 2);
}
