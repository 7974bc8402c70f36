/**
 * `npm run token -- <playerId> [--ttl <seconds>] [--aud <audience>] [--iss <issuer>]` prints a
 * player token (HS256 JWT, docs/contract.md §2) for local clients and k6, signed with the
 * current key: the first of PLAYPULSE_AUTH_SECRETS (its `kid` in the header), else
 * PLAYPULSE_AUTH_SECRET (the dev secret when unset). `aud` and `iss` default to
 * PLAYPULSE_AUTH_AUDIENCE and PLAYPULSE_AUTH_ISSUER.
 */
import { parseArgs } from 'node:util';
import { DEV_AUTH_SECRET, loadConfig } from '../lib/config.ts';
import { isPlayPulseError } from '../lib/errors.ts';
import { signPlayerTokenWith } from '../edge/auth.ts';
import { PLAYER_ID_PATTERN } from '../protocol/limits.ts';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: { ttl: { type: 'string', default: '86400' }, aud: { type: 'string' }, iss: { type: 'string' } },
    allowPositionals: true,
  });
  const playerId = positionals[0];
  const ttlSec = Number(values.ttl);
  if (!playerId || positionals.length !== 1 || !PLAYER_ID_PATTERN.test(playerId)) {
    process.stderr.write('usage: npm run token -- <playerId> [--ttl <seconds>] [--aud <audience>] [--iss <issuer>]\n  playerId: 1-64 chars of [A-Za-z0-9_.:-]\n');
    return 2;
  }
  if (!Number.isInteger(ttlSec) || ttlSec <= 0) {
    process.stderr.write('--ttl must be a positive whole number of seconds\n');
    return 2;
  }
  for (const [flag, value] of [['--aud', values.aud], ['--iss', values.iss]] as const) {
    if (value !== undefined && !/^\S{1,256}$/.test(value)) {
      process.stderr.write(`${flag} must be 1-256 characters without spaces\n`);
      return 2;
    }
  }
  const config = loadConfig();
  if (config.authSecret === DEV_AUTH_SECRET) process.stderr.write('warning: signing with the DEV secret (PLAYPULSE_AUTH_SECRET is not set)\n');
  const token = await signPlayerTokenWith(config.auth, playerId, ttlSec, { audience: values.aud, issuer: values.iss });
  process.stdout.write(`${token}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`playpulse: ${isPlayPulseError(err) ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
