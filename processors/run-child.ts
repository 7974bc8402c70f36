/**
 * The processors role alone, as its own process, configured by environment only
 * (KAFKA_BROKERS and REDIS_URL required; PLAYPULSE_RULES_DIR, PLAYPULSE_KEY_PREFIX,
 * PLAYPULSE_TOPIC_PREFIX, HEALTH_PORT as in docs/contract.md §1). Keeps player state only (no
 * offers decided). Tests start it to kill it with real signals; operators rebuilding state
 * without offers may run it too. `PLAYPULSE_PROCESSORS_GROUP` overrides the consumer group;
 * the group's timing is in the config (PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS,
 * PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS); PLAYPULSE_PROCESSOR_SLOT gives it a stable identity, so
 * that started again after a kill it evicts its predecessor from the group (docs/operations.md "Failover").
 * Prints one JSON line `{"ready":true,"healthPort":…}` on stdout once consuming.
 */
import { resolve } from 'node:path';
import { loadConfig } from '../lib/config.ts';
import { Health, serveHealth } from '../lib/health.ts';
import { createLogger } from '../lib/log.ts';
import { createRedis } from '../lib/redis.ts';
import { installSignalHandlers, onShutdown } from '../lib/shutdown.ts';
import { BundleStore } from '../designer/store.ts';
import { stateOnlyDecider } from './state-only-decider.ts';
import { startProcessors } from './index.ts';
import { PlayPulseError, errorMessage } from '../lib/errors.ts';

const log = createLogger('processors-child');

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.kafkaBrokers || !config.redisUrl) throw new PlayPulseError('CONFIG_INVALID', 'KAFKA_BROKERS and REDIS_URL must be set');
  installSignalHandlers();
  const health = new Health();
  const redis = createRedis(config.redisUrl, 'bundles');
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis (bundles) error'));
  onShutdown('redis (bundles)', () => void redis.disconnect());
  const bundles = await BundleStore.open(redis, config.keyPrefix, { fallbackDir: resolve(config.rulesDir) });
  onShutdown('bundle store', () => bundles.close());
  const { server, port } = await serveHealth(health, config.healthPort, '127.0.0.1');
  onShutdown('health server', () => new Promise<void>((r) => server.close(() => r())));
  const groupId = process.env.PLAYPULSE_PROCESSORS_GROUP;
  const processors = await startProcessors({
    config,
    health,
    bundles,
    decider: stateOnlyDecider,
    ...(groupId ? { groupId } : {}),
  });
  onShutdown('processors', () => processors.stop());
  process.stdout.write(`${JSON.stringify({ ready: true, healthPort: port, pid: process.pid })}\n`);
}

main().catch((err: unknown) => {
  log.fatal({ err: errorMessage(err) }, 'processors failed to start');
  process.exit(1);
});
