import type { Config } from '../lib/config.ts';
import { PlayPulseError } from '../lib/errors.ts';
import type { Health } from '../lib/health.ts';
import { createDurableProducer, createKafka, ensureTopics } from '../lib/kafka.ts';
import { createLogger } from '../lib/log.ts';
import type { Tracing } from '../lib/tracing.ts';
import { isRedisReady } from '../lib/redis.ts';
import type { BundleSource } from '../designer/types.ts';
import type { Decider } from './decider-seam.ts';
import { DEFAULT_SEEN_AGE_MS, DEFAULT_SEEN_MAX } from './apply.ts';
import { createBatchHandler, DEFAULT_CHUNK_SIZE } from './batch.ts';
import { ConsumerSupervisor } from './consumer.ts';
import { ProcessorSlot } from './evict.ts';
import { planFor } from './plan.ts';
import { createApplyClient } from './scripts.ts';
import { startPulse } from './pulse.ts';

export interface ProcessorsDeps {
  readonly config: Config;
  readonly health: Health;
  readonly bundles: BundleSource;
  readonly decider: Decider;
  /** Consumer group; default `<keyPrefix>-processors`. */
  readonly groupId?: string;
  /** Partitions processed at once by this process; default: every partition of the topic (PARTITIONS_AT_ONCE). */
  readonly concurrency?: number;
  /** Messages per pipelined apply; default 10000. */
  readonly chunkSize?: number;
  /**
   * Consumer group session timeout; default `config.processors.sessionTimeoutMs`
   * (PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS). A killed member's partitions move after it.
   */
  readonly sessionTimeoutMs?: number;
  /** Traces (lib/tracing.ts); absent or null: off. */
  readonly tracing?: Tracing | null;
  /**
   * Cap of the backoff between retries of a failing batch step (Redis or Kafka away);
   * default 5 s. Tests of long outages shorten it.
   */
  readonly retryBackoffMaxMs?: number;
  /** Called when the consumer cannot be restarted; default: log and exit the process with code 70. */
  readonly onFatal?: (err: Error) => void;
}

export interface Processors {
  stop(): Promise<void>;
}

const CONSUMER_MAX_RESTARTS = 10;

/**
 * The processors role: consumes `config.topics.events` as a consumer group, applies each
 * event to its player's state in Redis (lua/applyEvents-4.lua, effectively once), hands the
 * applied events to the decider, and only then commits. Readiness checks:
 * `processors-consumer` (in the group), `processors-redis` (connected),
 * `processors-pipeline` (no step of the batch loop currently failing).
 */
export async function startProcessors(deps: ProcessorsDeps): Promise<Processors> {
  const { config, health } = deps;
  if (!config.kafkaBrokers || !config.redisUrl) throw new PlayPulseError('CONFIG_INVALID', 'startProcessors needs resolved KAFKA_BROKERS and REDIS_URL');
  const log = createLogger('processors', { instance: config.instanceId });
  planFor(deps.bundles.current());

  const redis = createApplyClient(config.redisUrl, 'processors');
  let lastRedisError = 0;
  redis.on('error', (err: Error) => {
    if (Date.now() - lastRedisError > 5_000) log.warn({ err: err.message }, 'redis (processors) error');
    lastRedisError = Date.now();
  });

  const kafka = createKafka(config.kafkaBrokers, `playpulse-processors-${config.instanceId}`);
  const producer = createDurableProducer(kafka);
  const failing = new Set<string>();
  try {
    await ensureTopics(kafka, [
      { topic: config.topics.events, numPartitions: config.topics.partitions },
      { topic: config.topics.deadLetter, numPartitions: config.topics.partitions },
    ]);
    await producer.connect();
  } catch (err) {
    redis.disconnect();
    await producer.disconnect().catch(() => undefined);
    throw err;
  }

  const eachBatch = createBatchHandler({
    redis,
    bundles: deps.bundles,
    decider: deps.decider,
    producer,
    deadLetterTopic: config.topics.deadLetter,
    apply: { keyPrefix: config.keyPrefix, seenMax: DEFAULT_SEEN_MAX, seenAgeMs: DEFAULT_SEEN_AGE_MS },
    chunkSize: deps.chunkSize ?? DEFAULT_CHUNK_SIZE,
    log,
    failPoint: config.processors.failPoint,
    tracing: deps.tracing ?? null,
    ...(deps.retryBackoffMaxMs !== undefined ? { retryBackoffMaxMs: deps.retryBackoffMaxMs } : {}),
    health: {
      failing: (step) => failing.add(step),
      recovered: (step) => failing.delete(step),
    },
  });

  const groupId = deps.groupId ?? `${config.keyPrefix}-processors`;
  const sessionTimeoutMs = deps.sessionTimeoutMs ?? config.processors.sessionTimeoutMs;
  const heartbeatIntervalMs = Math.min(config.processors.heartbeatIntervalMs, Math.floor(sessionTimeoutMs / 3));
  const slot = config.processors.slot === null ? null : new ProcessorSlot({ redis, keyPrefix: config.keyPrefix, slot: config.processors.slot, groupId, refreshMs: heartbeatIntervalMs, sessionTimeoutMs, log });
  const supervisor = new ConsumerSupervisor({
    kafka,
    topic: config.topics.events,
    groupId,
    concurrency: deps.concurrency ?? partitionsAtOnce(config.topics.partitions),
    sessionTimeoutMs,
    heartbeatIntervalMs,
    ...(slot ? { slot } : {}),
    eachBatch,
    log,
    maxRestarts: CONSUMER_MAX_RESTARTS,
    onFatal:
      deps.onFatal ??
      ((err) => {
        log.fatal({ err: err.message }, 'processors cannot consume; exiting');
        process.exit(70);
      }),
  });
  health.addCheck('processors-consumer', () => supervisor.ready);
  health.addCheck('processors-redis', () => isRedisReady(redis));
  health.addCheck('processors-pipeline', () => failing.size === 0);

  try {
    await supervisor.start();
  } catch (err) {
    await supervisor.stop().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    redis.disconnect();
    throw err;
  }
  log.info({ topic: config.topics.events, groupId: deps.groupId ?? `${config.keyPrefix}-processors` }, 'processors started');
  const pulse = startPulse({ redis, keyPrefix: config.keyPrefix, instanceId: config.instanceId, log });

  let stopped: Promise<void> | null = null;
  return {
    stop: () =>
      (stopped ??= (async () => {
        await supervisor.stop().catch((err: unknown) => log.warn({ err: String(err) }, 'consumer stop failed'));
        await pulse.stop();
        await producer.disconnect().catch(() => undefined);
        await redis.quit().catch(() => redis.disconnect());
        log.info('processors stopped');
      })()),
  };
}

/**
 * kafkajs fetches, hands the fetch's batches (one per partition) to `concurrency` workers,
 * and fetches again only once every batch is done. With fewer workers than partitions with
 * data, the last batches wait for a worker, and every event of the next fetch waits for
 * them: a fetch cycle is two batch times instead of one. So every partition a process can
 * own is handled at once; memory stays bounded by the fetch (`maxBytes`, consumer.ts), not
 * by the workers. Capped for topics of very many partitions, where a process owns a share.
 */
export const PARTITIONS_AT_ONCE = 64;

export function partitionsAtOnce(partitions: number): number {
  return Math.max(1, Math.min(partitions, PARTITIONS_AT_ONCE));
}
