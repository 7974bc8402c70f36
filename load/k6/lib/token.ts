/**
 * Player tokens (docs/contract.md §2): HS256 JWTs signed in-script with PP_SECRET, or read from
 * PP_TOKENS_FILE (one token per line, e.g. made by `npm run token -- <playerId>`; give an
 * absolute path). With a file, the player id is the token's `sub`.
 */
import { hmac } from 'k6/crypto';
import encoding from 'k6/encoding';
import { envNumber, envString } from './env.ts';

const SECRET = envString('PP_SECRET', '');
const TOKENS_FILE = envString('PP_TOKENS_FILE', '');
const TTL_SEC = envNumber('PP_TOKEN_TTL_SEC', 6 * 3600);

const fileTokens: string[] = TOKENS_FILE
  ? open(TOKENS_FILE)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0)
  : [];

if (!SECRET && fileTokens.length === 0) {
  throw new Error('set PP_SECRET (the deployment PLAYPULSE_AUTH_SECRET) or PP_TOKENS_FILE (tokens from `npm run token`)');
}

function b64url(s: string): string {
  return encoding.b64encode(s, 'rawurl');
}

export function signToken(playerId: string, ttlSec = TTL_SEC): string {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ sub: playerId, iat: now, exp: now + ttlSec }));
  const sig = hmac('sha256', SECRET, `${head}.${body}`, 'base64rawurl');
  return `${head}.${body}.${sig}`;
}

function subOf(token: string): string {
  const part = token.split('.')[1] ?? '';
  const claims = JSON.parse(encoding.b64decode(part, 'rawurl', 's')) as { sub?: unknown };
  return typeof claims.sub === 'string' ? claims.sub : 'unknown';
}

export interface PlayerCredentials {
  readonly playerId: string;
  readonly token: string;
}

/**
 * The credentials of player slot `n` of this run. Signed tokens give every slot a fresh
 * player; a token file is used round-robin (players repeat when the file is shorter).
 */
export function credentials(playerIdForSlot: (n: number) => string, n: number): PlayerCredentials {
  if (fileTokens.length > 0) {
    const token = fileTokens[n % fileTokens.length] as string;
    return { playerId: subOf(token), token };
  }
  const playerId = playerIdForSlot(n);
  return { playerId, token: signToken(playerId) };
}

export const usesTokenFile = fileTokens.length > 0;
