/**
 * Player tokens (docs/contract.md §2): JWT, HS256 with PLAYPULSE_AUTH_SECRET, `sub` = player id
 * (1..64 of [A-Za-z0-9_.:-]), `exp` required. Given as `?token=` on the upgrade request or
 * as `Authorization: Bearer <jwt>`. The player id comes from the token alone.
 *
 * Verification is synchronous on purpose: the edge verifies inside the uWS upgrade handler
 * and upgrades before it returns. An upgrade completed later (after an await, inside
 * `res.cork`) can be dropped right after `open` by the uWS builds we run (docs/delivery.md,
 * "Upgrade"). jose signs tokens and decodes them; the HS256 check is one HMAC compared in
 * constant time over the canonical encoding, and it is held to what jose's `jwtVerify`
 * accepts by auth.test.ts.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import { PlayPulseError } from '../lib/errors.ts';
import { PLAYER_ID_PATTERN } from '../protocol/limits.ts';

export interface PlayerClaims {
  player: string;
  /** Expiry of the token, ms since the epoch. */
  expMs: number;
}

const keys = new Map<string, KeyObject>();

function keyFor(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    keys.set(secret, key);
  }
  return key;
}

/** Signs a player token valid for `ttlSec` seconds. */
export async function signPlayerToken(secret: string, playerId: string, ttlSec: number): Promise<string> {
  if (!PLAYER_ID_PATTERN.test(playerId)) throw new PlayPulseError('AUTH_INVALID', 'player id must be 1..64 of [A-Za-z0-9_.:-]');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(playerId)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSec)
    .sign(keyFor(secret));
}

/** The token of an upgrade request: `?token=` first, then `Authorization: Bearer`. */
export function tokenFromRequest(queryToken: string | undefined, authorization: string): string | null {
  if (queryToken) return queryToken;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return m ? (m[1] as string) : null;
}

/**
 * Verifies a token; AUTH_MISSING without one, AUTH_INVALID when malformed, not HS256, badly
 * signed, expired, not yet valid, or without a valid `sub`. Synchronous (see above).
 */
export function verifyPlayerToken(secret: string, token: string | null, nowMs = Date.now()): PlayerClaims {
  if (!token) throw new PlayPulseError('AUTH_MISSING');
  const payload = verifiedPayload(keyFor(secret), token, Math.floor(nowMs / 1000));
  const sub = payload.sub;
  if (typeof sub !== 'string' || !PLAYER_ID_PATTERN.test(sub)) {
    throw new PlayPulseError('AUTH_INVALID', 'invalid token: `sub` must be 1..64 of [A-Za-z0-9_.:-]');
  }
  return { player: sub, expMs: (payload.exp as number) * 1000 };
}

const invalid = (why: string): PlayPulseError => new PlayPulseError('AUTH_INVALID', `invalid token: ${why}`);

/** The compact JWS checks of jose's jwtVerify for HS256 with `exp` and `sub` required. */
function verifiedPayload(key: KeyObject, token: string, now: number): JWTPayload {
  const parts = token.split('.');
  if (parts.length !== 3) throw invalid('a JWT has three dot-separated parts');
  const [head, body, signature] = parts as [string, string, string];
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw invalid('the header is not base64url JSON');
  }
  if (header.alg !== 'HS256') throw invalid(`alg must be HS256, not ${JSON.stringify(header.alg)}`);
  if (header.crit !== undefined) throw invalid('no `crit` header parameter is understood');
  const expected = Buffer.from(createHmac('sha256', key).update(`${head}.${body}`).digest('base64url'));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid('signature verification failed');
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch {
    throw invalid('the payload is not a base64url JSON object');
  }
  if (payload.exp === undefined) throw invalid('missing required "exp" claim');
  if (payload.sub === undefined) throw invalid('missing required "sub" claim');
  for (const claim of ['exp', 'nbf', 'iat'] as const) {
    const v = payload[claim];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) throw invalid(`"${claim}" claim must be a number`);
  }
  if ((payload.exp as number) <= now) throw invalid('"exp" claim timestamp check failed');
  if (payload.nbf !== undefined && payload.nbf > now) throw invalid('"nbf" claim timestamp check failed');
  return payload;
}
