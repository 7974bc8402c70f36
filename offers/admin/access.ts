/**
 * Who may call the admin API (docs/contract.md §5): a bearer token names a caller and its
 * role; a route needs a role; each caller (each remote address, without a known token) has
 * a token bucket of requests.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ADMIN_ROLES, type AdminRole, type AdminToken } from '../../lib/config.ts';
import { TokenBucket } from '../../edge/token-bucket.ts';

/** The caller of a request, as the audit log and the version history name it. */
export interface AdminActor {
  readonly name: string;
  readonly role: AdminRole;
}

const rank = (role: AdminRole): number => ADMIN_ROLES.indexOf(role);

/** True when `role` may use a route that needs `needs` (viewer < editor < publisher). */
export function allows(role: AdminRole, needs: AdminRole): boolean {
  return rank(role) >= rank(needs);
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Resolves `Authorization: Bearer <token>` to the token's name and role, null for no or an
 * unknown token. Every configured token is compared, in constant time, on SHA-256 digests
 * (equal lengths whatever was sent), so neither the match nor a token's length shows in the
 * time taken.
 */
export class AdminTokens {
  private readonly known: readonly { readonly actor: AdminActor; readonly digest: Buffer }[];

  constructor(tokens: readonly AdminToken[]) {
    this.known = tokens.map((t) => ({ actor: { name: t.name, role: t.role }, digest: digest(t.token) }));
  }

  identify(req: IncomingMessage): AdminActor | null {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m?.[1]) return null;
    const given = digest(m[1]);
    let found: AdminActor | null = null;
    for (const k of this.known) {
      if (timingSafeEqual(given, k.digest) && found === null) found = k.actor;
    }
    return found;
  }
}

/** Callers tracked at most; past it, those whose bucket has refilled are forgotten. */
const MAX_CALLERS = 10_000;

/**
 * Per-caller request buckets: `ratePerSec` requests a second, bursts of `rateBurst`.
 * In-process: each admin replica limits on its own. `ratePerSec` 0: no limit.
 */
export class AdminRateLimit {
  private readonly buckets = new Map<string, { bucket: TokenBucket; seen: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
  ) {}

  /** 0 when the request may go on (one request taken), else the ms until it may be retried. */
  take(caller: string, now: number): number {
    if (this.ratePerSec === 0) return 0;
    let entry = this.buckets.get(caller);
    if (!entry) {
      if (this.buckets.size >= MAX_CALLERS) this.prune(now);
      entry = { bucket: new TokenBucket(this.ratePerSec, this.burst, now), seen: now };
      this.buckets.set(caller, entry);
    }
    entry.seen = now;
    return entry.bucket.take(1, now) ? 0 : Math.max(1, entry.bucket.waitMs(1));
  }

  private prune(now: number): void {
    const refillMs = (this.burst * 1000) / this.ratePerSec;
    for (const [caller, e] of this.buckets) if (now - e.seen >= refillMs) this.buckets.delete(caller);
    // Still full: callers that are all busy right now; the oldest go (their next request starts a full bucket).
    for (const caller of this.buckets.keys()) {
      if (this.buckets.size < MAX_CALLERS) break;
      this.buckets.delete(caller);
    }
  }
}
