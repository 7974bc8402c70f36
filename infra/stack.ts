import type { Config } from '../lib/config.ts';
import { PlayPulseError } from '../lib/errors.ts';
import { assertKafkaReachable, createKafka, ensureTopics } from '../lib/kafka.ts';
import { createLogger } from '../lib/log.ts';
import { assertRedisReachable } from '../lib/redis.ts';
import { startKafkaBroker } from './kafka-broker.ts';
import { KAFKA_VERSION } from './kafka-jars.ts';
import { canBind, isPortOpen } from './ports.ts';
import { startRedisServer } from './redis-server.ts';

export { startRedisCluster } from './redis-cluster.ts';

const log = createLogger('stack');

/** Where a broker or Redis is looked for when nothing is configured. */
export const DEFAULT_KAFKA_PORT = 9092;
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const REDIS_CONNECT_TIMEOUT_MS = 5_000;

/** Kafka and Redis as found or started; `stop()` ends only what this stack started. */
export interface Stack {
  readonly kafkaBrokers: string[];
  readonly redisUrl: string;
  /** Version of a broker this stack started; `external` for one it found. */
  readonly kafkaVersion: string;
  readonly startedKafka: boolean;
  readonly startedRedis: boolean;
  stop(): Promise<void>;
}

export interface ResolveStackOptions {
  /** Partitions of the events topic when it is created; default `config.topics.partitions`. */
  partitions?: number;
  /**
   * Port of a broker this stack starts when none is configured or found on 9092:
   * 9092 by default (so later processes find it), 0 for a free port (test runs, which
   * must not be found and shared by others).
   */
  startKafkaOnPort?: number;
  /** A broker this stack starts uses a JVM tuned to start fast, not for peak throughput (test runs). */
  kafkaQuickStart?: boolean;
}

interface Service {
  readonly address: string[];
  readonly version: string;
  readonly started: boolean;
  readonly ms: number;
  stop(): Promise<void>;
}

/**
 * Finds Kafka and Redis at the configured addresses, or at the default local ones, or starts
 * local ones (a KRaft broker from the pinned jars, `redis-server` from PATH); then creates
 * the events and dead-letter topics if missing. A configured address that does not answer
 * fails with STACK_UNAVAILABLE naming it, within the configured connect timeout; a missing
 * tool fails with STACK_MISSING_TOOL naming what to install. What was started lives at most
 * as long as this process.
 */
export async function resolveStack(config: Config, opts: ResolveStackOptions = {}): Promise<Stack> {
  const t0 = Date.now();
  const [kafka, redis] = await Promise.allSettled([resolveKafka(config, opts), resolveRedis(config)]);
  const up = [kafka, redis].filter((r): r is PromiseFulfilledResult<Service> => r.status === 'fulfilled').map((r) => r.value);
  const stopAll = () => Promise.all(up.map((s) => s.stop())).then(() => undefined);
  if (kafka.status === 'rejected' || redis.status === 'rejected') {
    await stopAll();
    throw kafka.status === 'rejected' ? kafka.reason : (redis as PromiseRejectedResult).reason;
  }
  try {
    await createTopics(config, kafka.value.address, opts.partitions ?? config.topics.partitions);
  } catch (err) {
    await stopAll();
    throw err;
  }
  let stopping: Promise<void> | null = null;
  const stack: Stack = {
    kafkaBrokers: kafka.value.address,
    redisUrl: redis.value.address[0] ?? DEFAULT_REDIS_URL,
    kafkaVersion: kafka.value.version,
    startedKafka: kafka.value.started,
    startedRedis: redis.value.started,
    stop: () => (stopping ??= stopAll().then(() => log.info('local stack stopped'))),
  };
  log.info(
    {
      kafka: { brokers: stack.kafkaBrokers, version: stack.kafkaVersion, started: stack.startedKafka, ms: kafka.value.ms },
      redis: { url: stack.redisUrl, started: stack.startedRedis, ms: redis.value.ms },
      ms: Date.now() - t0,
    },
    'stack ready',
  );
  return stack;
}

async function resolveKafka(config: Config, opts: ResolveStackOptions): Promise<Service> {
  const t0 = Date.now();
  const found = (address: string[]): Service => ({ address, version: 'external', started: false, ms: Date.now() - t0, stop: async () => undefined });
  if (config.kafkaBrokers) {
    await assertKafkaReachable(config.kafkaBrokers, config.kafkaConnectTimeoutMs);
    return found([...config.kafkaBrokers]);
  }
  const local = [`127.0.0.1:${DEFAULT_KAFKA_PORT}`];
  if (await isPortOpen('127.0.0.1', DEFAULT_KAFKA_PORT)) {
    await assertLocalKafka(local, config.kafkaConnectTimeoutMs);
    log.info({ brokers: local }, 'found a Kafka broker');
    return found(local);
  }
  const wanted = opts.startKafkaOnPort ?? DEFAULT_KAFKA_PORT;
  const port = wanted !== 0 && (await canBind(wanted)) ? wanted : 0;
  try {
    const broker = await startKafkaBroker({ version: KAFKA_VERSION, port, quickStart: opts.kafkaQuickStart ?? false });
    return { address: broker.brokers, version: broker.version, started: true, ms: Date.now() - t0, stop: broker.stop };
  } catch (err) {
    // Another process may have started its broker on the default port meanwhile.
    if (port === DEFAULT_KAFKA_PORT && (await isPortOpen('127.0.0.1', DEFAULT_KAFKA_PORT))) {
      await assertLocalKafka(local, config.kafkaConnectTimeoutMs);
      return found(local);
    }
    throw err;
  }
}

async function assertLocalKafka(brokers: string[], timeoutMs: number): Promise<void> {
  try {
    await assertKafkaReachable(brokers, timeoutMs);
  } catch (err) {
    throw new PlayPulseError(
      'STACK_UNAVAILABLE',
      `something listens on ${brokers.join(',')} but does not answer as a Kafka broker; stop it, or set KAFKA_BROKERS (${(err as Error).message})`,
    );
  }
}

async function resolveRedis(config: Config): Promise<Service> {
  const t0 = Date.now();
  const found = (url: string): Service => ({ address: [url], version: '', started: false, ms: Date.now() - t0, stop: async () => undefined });
  if (config.redisUrl) {
    await assertRedisReachable(config.redisUrl, REDIS_CONNECT_TIMEOUT_MS);
    return found(config.redisUrl);
  }
  if (await isPortOpen('127.0.0.1', 6379)) {
    await assertRedisReachable(DEFAULT_REDIS_URL, REDIS_CONNECT_TIMEOUT_MS);
    log.info({ url: DEFAULT_REDIS_URL }, 'found Redis');
    return found(DEFAULT_REDIS_URL);
  }
  const redis = await startRedisServer();
  log.info({ url: redis.url, pid: redis.pid }, 'started redis-server');
  return { address: [redis.url], version: '', started: true, ms: Date.now() - t0, stop: redis.stop };
}

async function createTopics(config: Config, brokers: string[], partitions: number): Promise<void> {
  const kafka = createKafka(brokers, 'playpulse-stack');
  await ensureTopics(kafka, [
    { topic: config.topics.events, numPartitions: partitions },
    { topic: config.topics.deadLetter, numPartitions: partitions },
  ]);
}
