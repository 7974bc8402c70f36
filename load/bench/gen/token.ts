/**
 * Player tokens for bench clients: HS256 JWTs (docs/contract.md §2) signed here with the secret
 * the system under test was started with, the same way the k6 scripts sign them in-script.
 */
import { createHmac } from 'node:crypto';

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export function signBenchToken(secret: string, playerId: string, ttlSec: number): string {
  const now = Math.floor(Date.now() / 1000);
  const body = Buffer.from(JSON.stringify({ sub: playerId, iat: now, exp: now + ttlSec })).toString('base64url');
  const sig = createHmac('sha256', secret).update(`${HEADER}.${body}`).digest('base64url');
  return `${HEADER}.${body}.${sig}`;
}
