/**
 * Per-connection rate limit: a token bucket holding at most `burst` tokens, refilled at
 * `ratePerSec`. A frame costs one token per event it carries (at least one), so `burst`
 * must be at least the 500 events of a full batch. Pure: time is passed in.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes `cost` tokens if there are that many; false (and nothing taken) otherwise. */
  take(cost: number, now: number): boolean {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSec) / 1000);
      this.last = now;
    }
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }

  /** How long from the latest `take` until `cost` tokens are there again (0: they are now). */
  waitMs(cost: number): number {
    return this.tokens >= cost ? 0 : Math.ceil(((Math.min(cost, this.burst) - this.tokens) * 1000) / this.ratePerSec);
  }
}

/**
 * Counts refusals in a sliding window; `strike` returns true once more than `limit` fell
 * within `windowMs`: the connection is abusive and is closed with 1008. Pure.
 */
export class AbuseMeter {
  private readonly times: number[] = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  strike(now: number): boolean {
    this.times.push(now);
    while (this.times.length > 0 && (this.times[0] as number) <= now - this.windowMs) this.times.shift();
    return this.times.length > this.limit;
  }
}

/** Refusals (rate-limited frames) tolerated within ABUSE_WINDOW_MS before closing with 1008. */
export const ABUSE_LIMIT = 20;
export const ABUSE_WINDOW_MS = 10_000;
