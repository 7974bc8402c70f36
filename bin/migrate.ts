/**
 * `npm run migrate -- [--rules <dir>]`
 *
 * One pass over the player keys under PLAYPULSE_KEY_PREFIX that an older layout left
 * (processors/migrate.ts): unlinks the keys no longer used and gives every player key
 * without an expiry the policy's retention. Safe beside live traffic and safe to repeat.
 * The retention comes from `--rules <dir>` or PLAYPULSE_RULES_DIR (policy.yaml). Prints a
 * JSON summary.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config.ts';
import { isPlayPulseError, PlayPulseError } from '../lib/errors.ts';
import { assertRedisReachable, createRedis } from '../lib/redis.ts';
import { compileBundle } from '../designer/compile.ts';
import { formatDiagnostic } from '../designer/diagnostics.ts';
import { readBundleDir } from '../designer/load.ts';
import { migratePlayerKeys } from '../processors/migrate.ts';

const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { rules: { type: 'string' } }, allowPositionals: false });
  const config = loadConfig();
  const dir = resolve(values.rules ?? config.rulesDir);
  const compiled = compileBundle(readBundleDir(dir));
  if (!compiled.ok) throw new PlayPulseError('RULE_SCHEMA', `${dir} does not compile:\n  ${compiled.diagnostics.map(formatDiagnostic).join('\n  ')}`);
  const url = config.redisUrl ?? DEFAULT_REDIS;
  await assertRedisReachable(url, 3_000);
  const redis = createRedis(url, 'migrate');
  try {
    const report = await migratePlayerKeys(redis, config.keyPrefix, compiled.bundle.policy.retentionMs);
    process.stdout.write(`${JSON.stringify({ prefix: config.keyPrefix, retentionMs: compiled.bundle.policy.retentionMs, ...report })}\n`);
    return 0;
  } finally {
    redis.disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${isPlayPulseError(err) ? `${err.code}: ${err.message}` : String(err)}\n`);
    process.exit(1);
  },
);
