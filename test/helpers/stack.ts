import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig, withServices, type Config } from '../../lib/config.ts';
import { createKafka, ensureTopics } from '../../lib/kafka.ts';

/** Kafka and Redis of this test run, as provided by test/setup/stack.ts. */
export function testServices(): { kafkaBrokers: string[]; redisUrl: string; kafkaVersion: string } {
  return { kafkaBrokers: inject('kafkaBrokers'), redisUrl: inject('redisUrl'), kafkaVersion: inject('kafkaVersion') };
}

/** `<prefix>-<12 hex chars>`: unique per call, safe in topic names, group ids and Redis key prefixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/**
 * A Config for one test: this run's Kafka and Redis, a fresh PLAYPULSE_KEY_PREFIX and
 * PLAYPULSE_TOPIC_PREFIX (so tests never see each other's keys or topics), 3 partitions,
 * ports 0 (the OS picks free ones), an admin rate limit no test reaches, log level `warn`
 * unless PLAYPULSE_LOG_LEVEL says otherwise.
 * `overrides` are environment variables as in docs/contract.md §1 and README.md.
 */
export function testConfig(overrides: Record<string, string | undefined> = {}): Config {
  const env: Record<string, string | undefined> = {
    PLAYPULSE_LOG_LEVEL: process.env.PLAYPULSE_LOG_LEVEL ?? 'warn',
    PLAYPULSE_KEY_PREFIX: uniqueName('t'),
    PLAYPULSE_TOPIC_PREFIX: `${uniqueName('test')}.`,
    PLAYPULSE_PARTITIONS: '3',
    EDGE_PORT: '0',
    ADMIN_PORT: '0',
    HEALTH_PORT: '0',
    // Tests call the admin API far faster than a designer; the rate limit has tests of its own.
    PLAYPULSE_ADMIN_RATE_PER_SEC: '100000',
    PLAYPULSE_ADMIN_RATE_BURST: '100000',
    ...overrides,
  };
  const { kafkaBrokers, redisUrl } = testServices();
  return withServices(loadConfig(env), { kafkaBrokers, redisUrl });
}

/** Creates the events and dead-letter topics of `config` (its topic prefix) if missing. */
export async function createTestTopics(config: Config): Promise<void> {
  if (!config.kafkaBrokers) throw new Error('createTestTopics needs a config with kafkaBrokers (use testConfig)');
  const kafka = createKafka(config.kafkaBrokers, 'playpulse-test-topics');
  await ensureTopics(kafka, [
    { topic: config.topics.events, numPartitions: config.topics.partitions },
    { topic: config.topics.deadLetter, numPartitions: config.topics.partitions },
  ]);
}

/** Removes every key `<prefix>:*` of a test (every master of a cluster); returns how many. */
export { deleteKeysUnder as cleanupRedisPrefix } from '../../lib/redis.ts';
