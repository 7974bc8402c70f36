/**
 * `npm run token -- <playerId> [--ttl <seconds>]` prints a player token (HS256 JWT, docs/contract.md §2)
 * signed with PLAYPULSE_AUTH_SECRET (the dev secret when unset), for local clients and k6.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config.ts';
import { isPlayPulseError } from '../lib/errors.ts';
import { signPlayerToken } from '../edge/auth.ts';
import { PLAYER_ID_PATTERN } from '../protocol/limits.ts';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ options: { ttl: { type: 'string', default: '86400' } }, allowPositionals: true });
  const playerId = positionals[0];
  const ttlSec = Number(values.ttl);
  if (!playerId || positionals.length !== 1 || !PLAYER_ID_PATTERN.test(playerId)) {
    process.stderr.write('usage: npm run token -- <playerId> [--ttl <seconds>]\n  playerId: 1-64 chars of [A-Za-z0-9_.:-]\n');
    return 2;
  }
  if (!Number.isInteger(ttlSec) || ttlSec <= 0) {
    process.stderr.write('--ttl must be a positive whole number of seconds\n');
    return 2;
  }
  const config = loadConfig();
  if (config.authSecretIsDev) process.stderr.write('warning: PLAYPULSE_AUTH_SECRET is not set; signing with the DEV secret\n');
  process.stdout.write(`${await signPlayerToken(config.authSecret, playerId, ttlSec)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`playpulse: ${isPlayPulseError(err) ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
