/**
 * `npm run replay -- --from <position> [--to <position>] --prefix <newKeyPrefix> [--rules <dir>] [--force]`
 *
 * Rebuilds player state from the retained `player-events` topic into a fresh Redis key
 * prefix, with the live processors' apply code (processors/replay.ts). Positions: an ISO
 * time (`2026-11-25T10:00:00Z`), epoch ms (12 or more digits, or `ms:<n>`), an offset applied
 * to every partition (fewer digits, or `offset:<n>`), or `earliest`. Without `--to` it stops
 * at the end of each partition as it was when the replay started. Properties come from
 * `--rules <dir>`, else from the bundle published under PLAYPULSE_KEY_PREFIX, else from
 * PLAYPULSE_RULES_DIR. Kafka and Redis are the configured ones (KAFKA_BROKERS, REDIS_URL) or
 * the local defaults; nothing is started. Refuses the live prefix, and a prefix that already
 * holds keys unless `--force`. Progress goes to stderr each second; a JSON summary to stdout.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Cluster, type Redis } from 'ioredis';
import { loadConfig } from '../lib/config.ts';
import { isPlayPulseError, PlayPulseError } from '../lib/errors.ts';
import { assertKafkaReachable, createKafka } from '../lib/kafka.ts';
import { assertRedisReachable, type RedisClient } from '../lib/redis.ts';
import { compileBundle } from '../designer/compile.ts';
import { formatDiagnostic } from '../designer/diagnostics.ts';
import { readBundleDir } from '../designer/load.ts';
import { BundleVersions } from '../designer/store.ts';
import type { Bundle } from '../designer/types.ts';
import { parsePosition, replayInto, type ReplayProgress } from '../processors/replay.ts';
import { createApplyClient } from '../processors/scripts.ts';

const PREFIX = /^[A-Za-z0-9_.-]{1,32}$/;
const DEFAULT_BROKERS = ['127.0.0.1:9092'];
const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

function usage(message: string): never {
  throw new PlayPulseError('CONFIG_INVALID', `${message}\nusage: npm run replay -- --from <ISO time|epoch ms|offset|earliest> [--to <same>] --prefix <newKeyPrefix> [--rules <dir>] [--force]`);
}

function compileOrThrow(files: Record<string, string>, what: string, version?: number): Bundle {
  const r = compileBundle(files, version === undefined ? {} : { version });
  if (!r.ok) throw new PlayPulseError('RULE_SCHEMA', `${what} does not compile:\n  ${r.diagnostics.map(formatDiagnostic).join('\n  ')}`);
  return r.bundle;
}

async function loadBundle(redis: RedisClient, keyPrefix: string, rulesDir: string, explicit: string | undefined): Promise<{ bundle: Bundle; source: string }> {
  if (explicit) return { bundle: compileOrThrow(readBundleDir(resolve(explicit)), explicit), source: explicit };
  const versions = new BundleVersions(redis, keyPrefix);
  const current = await versions.currentVersion();
  const stored = current > 0 ? await versions.get(current) : null;
  if (stored) return { bundle: compileOrThrow(stored.files, `published version ${current}`, current), source: `published version ${current}` };
  return { bundle: compileOrThrow(readBundleDir(resolve(rulesDir)), rulesDir), source: rulesDir };
}

async function prefixInUse(redis: RedisClient, prefix: string): Promise<boolean> {
  if (redis.status !== 'ready') await new Promise<void>((resolve, reject) => {
    redis.once('ready', () => resolve());
    redis.once('end', () => reject(new PlayPulseError('STACK_UNAVAILABLE', 'Redis connection closed')));
  });
  const nodes: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis as Redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) return true;
      cursor = next;
    } while (cursor !== '0');
  }
  return false;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { from: { type: 'string' }, to: { type: 'string' }, prefix: { type: 'string' }, rules: { type: 'string' }, force: { type: 'boolean', default: false } },
    allowPositionals: false,
  });
  if (!values.from) usage('--from is required');
  if (!values.prefix || !PREFIX.test(values.prefix)) usage('--prefix is required: 1-32 chars of [A-Za-z0-9_.-]');
  const config = loadConfig();
  if (values.prefix === config.keyPrefix) usage(`--prefix ${values.prefix} is the live key prefix (PLAYPULSE_KEY_PREFIX); replay into a fresh one`);
  let from;
  let to;
  try {
    from = parsePosition(values.from);
    to = values.to ? parsePosition(values.to) : undefined;
  } catch (err) {
    usage((err as Error).message);
  }

  const brokers = config.kafkaBrokers ?? DEFAULT_BROKERS;
  const redisUrl = config.redisUrl ?? DEFAULT_REDIS;
  await Promise.all([assertKafkaReachable(brokers, config.kafkaConnectTimeoutMs), assertRedisReachable(redisUrl, config.kafkaConnectTimeoutMs)]);
  const redis = createApplyClient(redisUrl, 'replay');
  redis.on('error', () => undefined);
  try {
    if (!values.force && (await prefixInUse(redis, values.prefix))) usage(`prefix ${values.prefix} already holds keys; choose a fresh one or pass --force`);
    const { bundle, source } = await loadBundle(redis, config.keyPrefix, config.rulesDir, values.rules);
    process.stderr.write(`replay: ${config.topics.events} → prefix ${values.prefix} with ${bundle.properties.length} properties from ${source}\n`);
    const kafka = createKafka(brokers, 'playpulse-replay');
    const t0 = Date.now();
    let latest: ReplayProgress | null = null;
    const ticker = setInterval(() => {
      if (latest) process.stderr.write(`${line(latest, t0)}\n`);
    }, 1_000);
    try {
      const done = await replayInto({
        kafka,
        topic: config.topics.events,
        redis,
        keyPrefix: values.prefix,
        bundle,
        from: from as NonNullable<typeof from>,
        ...(to ? { to } : {}),
        onProgress: (p) => {
          latest = p;
        },
      });
      process.stderr.write(`${line(done, t0)}\n`);
      const seconds = (Date.now() - t0) / 1000;
      process.stdout.write(`${JSON.stringify({ prefix: values.prefix, ...done, seconds, eventsPerSec: Math.round(done.read / Math.max(seconds, 0.001)) })}\n`);
    } finally {
      clearInterval(ticker);
    }
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

function line(p: ReplayProgress, t0: number): string {
  const s = (Date.now() - t0) / 1000;
  const pct = p.total > 0 ? ((100 * p.read) / p.total).toFixed(1) : '100.0';
  return `replay: ${p.read}/${p.total} (${pct}%) applied ${p.applied} duplicates ${p.duplicates} skipped ${p.skipped}, ${Math.round(p.read / Math.max(s, 0.001))} events/s`;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`replay failed: ${isPlayPulseError(err) ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
