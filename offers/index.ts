import type { Config } from '../lib/config.ts';
import type { Health } from '../lib/health.ts';
import { createLogger } from '../lib/log.ts';
import { createRedis, isRedisReady } from '../lib/redis.ts';
import { readPlayerState } from '../processors/state.ts';
import { startAdminServer } from './admin/server.ts';
import { startBacktests } from './backtest/service.ts';
import type { BundleStore } from '../designer/store.ts';
import { createDecider } from './engine/decider.ts';
import { startDecisionLog } from './engine/decision-log.ts';
import type { ReadState } from './jobs/follow-up.ts';
import { createOfferQueues, type OfferQueueOptions } from './jobs/queues.ts';
import { startOfferWorkers } from './jobs/workers.ts';
import { offerKeys } from '../lib/keys.ts';
import { exposeSegmentSizes } from './admin/segments.ts';
import { PlayPulseError } from '../lib/errors.ts';

const log = createLogger('offers');

export interface OffersDeps {
  readonly config: Config;
  readonly health: Health;
  readonly bundles: BundleStore;
  /** Retry tuning of the lifecycle queues (tests shorten the fulfilment backoff). */
  readonly queueOptions?: OfferQueueOptions;
}

/**
 * The offers role: the admin API on `config.admin.host`:`config.adminPort` (0 picks a free port; the real one is
 * returned) and the BullMQ lifecycle workers (expiry, follow-up, fulfilment). `stop()`
 * closes the admin server, then lets running jobs finish, then closes connections.
 */
export async function startOffers(deps: OffersDeps): Promise<{ adminPort: number; stop(): Promise<void> }> {
  const { config } = deps;
  if (!config.redisUrl) throw new PlayPulseError('CONFIG_INVALID', 'startOffers needs a resolved REDIS_URL');
  const redis = createRedis(config.redisUrl, 'offers');
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis (offers) error'));
  deps.health.addCheck('redis-offers', () => isRedisReady(redis));

  const queues = createOfferQueues(config, deps.queueOptions);
  // Follow-up decisions go to the decision stream too; the admin API reads older decisions from it.
  const decisions = await startDecisionLog(config, log);
  const decider = createDecider({ config, redis, bundles: deps.bundles, queues, decisionLog: decisions.log });
  const readState: ReadState = (playerId, bundle, now) => readPlayerState(redis, config.keyPrefix, playerId, bundle, now);
  const workers = startOfferWorkers({
    engine: decider.context,
    queues,
    bundles: deps.bundles,
    readState,
    fulfilmentUrl: config.fulfilmentUrl,
    prefix: offerKeys(config.keyPrefix).bullPrefix,
  });
  const backtests = startBacktests({ config, bundles: deps.bundles });
  let admin: Awaited<ReturnType<typeof startAdminServer>>;
  try {
    admin = await startAdminServer({ config, redis, bundles: deps.bundles, readState, backtests, decisionStream: decisions.read }, config.adminPort);
  } catch (err) {
    await backtests.close();
    await decisions.log.close();
    await workers.close();
    await queues.close();
    redis.disconnect();
    throw err;
  }
  const hideSegmentSizes = exposeSegmentSizes(redis, config.keyPrefix, deps.bundles);
  if (!config.fulfilmentUrl) log.info('PLAYPULSE_FULFILMENT_URL is not set: purchases are recorded as granted without a webhook');

  let stopped: Promise<void> | null = null;
  return {
    adminPort: admin.port,
    stop: () =>
      (stopped ??= (async () => {
        hideSegmentSizes();
        await admin.close();
        await backtests.close();
        await workers.close();
        await decider.close();
        await decisions.log.close();
        await queues.close();
        redis.disconnect();
      })()),
  };
}
