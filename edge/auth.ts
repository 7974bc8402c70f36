/**
 * Player tokens (docs/contract.md §2): JWT, HS256 with PLAYPULSE_AUTH_SECRET, `sub` = player id
 * (1..64 of [A-Za-z0-9_.:-]), `exp` required. Given as `?token=` on the upgrade request or
 * as `Authorization: Bearer <jwt>`. The player id comes from the token alone.
 *
 * With PLAYPULSE_AUTH_SECRETS (key rotation) every key has a `kid`: a token whose header
 * names a `kid` is checked with that key only (an unknown one is refused), a token without
 * one against each key, the current first. With PLAYPULSE_AUTH_AUDIENCE / _ISSUER set, the
 * `aud` / `iss` claims must match, as jose's `jwtVerify` `audience` and `issuer` options.
 *
 * Verification is synchronous on purpose: the edge verifies inside the uWS upgrade handler
 * and upgrades before it returns. An upgrade completed later (after an await, inside
 * `res.cork`) can be dropped right after `open` by the uWS builds we run (docs/delivery.md,
 * "Upgrade"). jose signs tokens and decodes them; the HS256 check is one HMAC per key the
 * token may be checked with, compared in constant time over the canonical encoding, and it
 * is held to what jose's `jwtVerify` accepts (with the key the `kid` names, and its
 * `audience` and `issuer` options) by auth.test.ts.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import type { AuthKey, PlayerAuth } from '../lib/config.ts';
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

export interface SignOptions {
  /** Header `kid`: the id of the key signing. */
  readonly kid?: string | null;
  readonly audience?: string | null;
  readonly issuer?: string | null;
}

/** Signs a player token valid for `ttlSec` seconds. */
export async function signPlayerToken(secret: string, playerId: string, ttlSec: number, opts: SignOptions = {}): Promise<string> {
  if (!PLAYER_ID_PATTERN.test(playerId)) throw new PlayPulseError('AUTH_INVALID', 'player id must be 1..64 of [A-Za-z0-9_.:-]');
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({})
    .setProtectedHeader(opts.kid ? { alg: 'HS256', typ: 'JWT', kid: opts.kid } : { alg: 'HS256', typ: 'JWT' })
    .setSubject(playerId)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSec);
  if (opts.audience) jwt.setAudience(opts.audience);
  if (opts.issuer) jwt.setIssuer(opts.issuer);
  return jwt.sign(keyFor(secret));
}

/** Signs with the current key of `auth` (its `kid` in the header) and its `aud` / `iss`; `opts` overrides the claims. */
export function signPlayerTokenWith(auth: PlayerAuth, playerId: string, ttlSec: number, opts: Omit<SignOptions, 'kid'> = {}): Promise<string> {
  const key = auth.keys[0] as AuthKey;
  return signPlayerToken(key.secret, playerId, ttlSec, {
    kid: key.kid,
    audience: opts.audience === undefined ? auth.audience : opts.audience,
    issuer: opts.issuer === undefined ? auth.issuer : opts.issuer,
  });
}

/** A single secret as a PlayerAuth: no key ids, no audience or issuer. */
export function singleSecret(secret: string): PlayerAuth {
  return { keys: [{ kid: null, secret }], audience: null, issuer: null };
}

/** The token of an upgrade request: `?token=` first, then `Authorization: Bearer`. */
export function tokenFromRequest(queryToken: string | undefined, authorization: string): string | null {
  if (queryToken) return queryToken;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return m ? (m[1] as string) : null;
}

/**
 * Verifies a token; AUTH_MISSING without one, AUTH_INVALID when malformed, not HS256, badly
 * signed (by no key it may be checked with), of an unknown `kid`, expired, not yet valid,
 * without a valid `sub`, or without the configured `aud` / `iss`. Synchronous (see above).
 */
export function verifyPlayerToken(auth: PlayerAuth, token: string | null, nowMs = Date.now()): PlayerClaims {
  if (!token) throw new PlayPulseError('AUTH_MISSING');
  const payload = verifiedPayload(auth, token, Math.floor(nowMs / 1000));
  const sub = payload.sub;
  if (typeof sub !== 'string' || !PLAYER_ID_PATTERN.test(sub)) {
    throw new PlayPulseError('AUTH_INVALID', 'invalid token: `sub` must be 1..64 of [A-Za-z0-9_.:-]');
  }
  return { player: sub, expMs: (payload.exp as number) * 1000 };
}

const invalid = (why: string): PlayPulseError => new PlayPulseError('AUTH_INVALID', `invalid token: ${why}`);

/**
 * The keys a token may be checked with. Without key ids (PLAYPULSE_AUTH_SECRET) the one key,
 * whatever `kid` the token names, as jose's jwtVerify with a single key. With key ids: the
 * key its `kid` names and no other, or every key, the current first, for a token without one.
 */
function candidateKeys(keys: readonly AuthKey[], kid: unknown): readonly AuthKey[] {
  if (keys[0]?.kid === null) return keys;
  if (kid === undefined) return keys;
  if (typeof kid !== 'string') throw invalid('"kid" header parameter must be a string');
  const key = keys.find((k) => k.kid === kid);
  if (!key) throw invalid(`unknown key id ${JSON.stringify(kid.slice(0, 64))}`);
  return [key];
}

/** The compact JWS checks of jose's jwtVerify for HS256 with `exp` and `sub` required, and its `audience` / `issuer` options. */
function verifiedPayload(auth: PlayerAuth, token: string, now: number): JWTPayload {
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
  const given = Buffer.from(signature);
  const signedBy = (key: KeyObject): boolean => {
    const expected = Buffer.from(createHmac('sha256', key).update(`${head}.${body}`).digest('base64url'));
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  if (!candidateKeys(auth.keys, header.kid).some((k) => signedBy(keyFor(k.secret)))) throw invalid('signature verification failed');
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
  if (auth.issuer !== null) {
    if (payload.iss === undefined) throw invalid('missing required "iss" claim');
    if (payload.iss !== auth.issuer) throw invalid('unexpected "iss" claim value');
  }
  if (auth.audience !== null) {
    if (payload.aud === undefined) throw invalid('missing required "aud" claim');
    const audiences: unknown[] = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!audiences.includes(auth.audience)) throw invalid('unexpected "aud" claim value');
  }
  return payload;
}
