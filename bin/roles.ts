import { resolve } from 'node:path';
import type { Config } from '../lib/config.ts';
import { Health, serveHealth, serveMetrics } from '../lib/health.ts';
import { createLogger } from '../lib/log.ts';
import { createRedis, isRedisReady } from '../lib/redis.ts';
import { PlayPulseError } from '../lib/errors.ts';
import { onShutdown } from '../lib/shutdown.ts';
import { startTracing } from '../lib/tracing.ts';
import { BundleStore } from '../designer/store.ts';
import { startEdge } from '../edge/index.ts';
import { startProcessors } from '../processors/index.ts';
import { createDecider } from '../offers/engine/decider.ts';
import { startDecisionLog } from '../offers/engine/decision-log.ts';
import { startOffers } from '../offers/index.ts';

export const ROLES = ['edge', 'processors', 'offers'] as const;
export type Role = (typeof ROLES)[number];

const log = createLogger('roles');

/** Parses `edge`, `processors,offers`, …; throws CONFIG_INVALID naming the bad value. */
export function parseRoles(value: string): Role[] {
  const roles = value.split(',').map((r) => r.trim()).filter((r) => r.length > 0);
  const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (roles.length === 0 || bad.length > 0) {
    throw new PlayPulseError('CONFIG_INVALID', `--role must be one or more of ${ROLES.join(', ')} (comma-separated); got "${value}"`);
  }
  return [...new Set(roles)] as Role[];
}

/**
 * Runs the given roles in this process. `config` has resolved service addresses. A process
 * with the edge serves health on EDGE_PORT; any other on HEALTH_PORT; /metrics with them, or
 * alone on PLAYPULSE_METRICS_PORT when set. Every part registers
 * its own shutdown step; they run in reverse order of start.
 */
export async function runRoles(roles: readonly Role[], config: Config): Promise<void> {
  const redisUrl = config.redisUrl;
  if (!redisUrl) throw new PlayPulseError('CONFIG_INVALID', 'REDIS_URL is not resolved');
  const health = new Health();
  // Not ready until every role of the process is up: the health server listens before the
  // offers role's admin API or the processors have started.
  let started = false;
  health.addCheck('started', () => started);
  // Registered first, so it stops last: the roles' final spans are flushed.
  const tracing = startTracing(config.tracing, config.instanceId);
  if (tracing) {
    onShutdown('tracing', () => tracing.shutdown());
    log.info({ endpoint: config.tracing.endpoint, sampleRate: config.tracing.sampleRate }, 'tracing on');
  }

  const redis = createRedis(redisUrl, 'bundles');
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis (bundles) error'));
  onShutdown('redis (bundles)', () => void redis.disconnect());
  health.addCheck('redis', () => isRedisReady(redis));

  const bundles = await BundleStore.open(redis, config.keyPrefix, { fallbackDir: resolve(config.rulesDir) });
  onShutdown('bundle store', () => bundles.close());
  log.info({ version: bundles.current().version, rules: bundles.current().rules.length }, 'designer bundle loaded');

  if (config.metricsPort !== null) {
    const { server, port } = await serveMetrics(health, config.metricsPort);
    onShutdown('metrics server', () => new Promise<void>((r) => server.close(() => r())));
    log.info({ url: `http://127.0.0.1:${port}/metrics` }, 'metrics listening on a port of their own');
  }
  if (!roles.includes('edge')) {
    const { server, port } = await serveHealth(health, config.healthPort);
    onShutdown('health server', () => new Promise<void>((r) => server.close(() => r())));
    log.info({ url: `http://127.0.0.1:${port}/readyz` }, 'health and metrics listening');
  }

  if (roles.includes('offers')) {
    const offers = await startOffers({ config, health, bundles });
    onShutdown('offers', () => offers.stop());
    log.info({ url: `http://127.0.0.1:${offers.adminPort}/` }, 'admin API listening');
  }
  if (roles.includes('processors')) {
    // Auto-pipelined: each step of a decided chunk sends its many commands as one write.
    const deciderRedis = createRedis(redisUrl, 'decider', { enableAutoPipelining: true });
    deciderRedis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis (decider) error'));
    const decisions = await startDecisionLog(config, log);
    const decider = createDecider({ config, redis: deciderRedis, bundles, decisionLog: decisions.log, tracing });
    onShutdown('decider', async () => {
      await decider.close();
      await decisions.log.close();
      deciderRedis.disconnect();
    });
    const processors = await startProcessors({ config, health, bundles, decider, tracing });
    onShutdown('processors', () => processors.stop());
    log.info({ topic: config.topics.events }, 'processors consuming');
  }
  if (roles.includes('edge')) {
    const edge = await startEdge({ config, health, bundles, tracing });
    onShutdown('edge', () => edge.stop());
    log.info({ url: `ws://127.0.0.1:${edge.port}/v1/play`, instance: edge.instanceId }, 'edge listening');
  }
  started = true;
}
