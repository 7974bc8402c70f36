/**
 * One integrity test's world: its own key prefix, topic prefix and rules folder on the
 * run's Kafka and Redis (or on dedicated ones), the environment its role processes get,
 * and the cleanup that removes all of it.
 */
import { afterAll, beforeAll } from 'vitest';
import { loadConfig, withServices, type Config } from '../../lib/config.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { cleanupRedisPrefix, createTestTopics, testServices, uniqueName } from '../helpers/stack.ts';
import { integrityKafka } from './kafka-tools.ts';
import { RULES_DIR } from './stream.ts';
import type { RoleProcess } from '../faults/processes.ts';

export const AUTH_SECRET = 'integrity-auth-secret-0123456789abcdef';
export const ADMIN_TOKEN = 'integrity-admin-token-0123456789abcdef';

export interface World {
  readonly env: Record<string, string>;
  readonly config: Config;
  readonly brokers: string[];
  readonly redisUrl: string;
  readonly redis: RedisClient;
  readonly keyPrefix: string;
  readonly topic: string;
  readonly deadLetterTopic: string;
  readonly groupId: string;
  readonly processes: RoleProcess[];
  /** Creates the events and dead-letter topics (roles would create them on start). */
  createTopics(): Promise<void>;
  /** Kills every role process still running, deletes the topics and the keys. */
  cleanup(): Promise<void>;
}

export function createWorld(opts: { brokers?: string[]; redisUrl?: string; env?: Record<string, string> } = {}): World {
  const services = testServices();
  const brokers = opts.brokers ?? services.kafkaBrokers;
  const redisUrl = opts.redisUrl ?? services.redisUrl;
  const keyPrefix = uniqueName('it');
  const env: Record<string, string> = {
    KAFKA_BROKERS: brokers.join(','),
    REDIS_URL: redisUrl,
    PLAYPULSE_KEY_PREFIX: keyPrefix,
    PLAYPULSE_TOPIC_PREFIX: `${uniqueName('integrity')}.`,
    PLAYPULSE_PARTITIONS: '4',
    PLAYPULSE_RULES_DIR: RULES_DIR,
    PLAYPULSE_AUTH_SECRET: AUTH_SECRET,
    PLAYPULSE_ADMIN_TOKEN: ADMIN_TOKEN,
    // The abuse test sends every wrong credential to every route, faster than the admin rate limit allows.
    PLAYPULSE_ADMIN_RATE_PER_SEC: '100000',
    PLAYPULSE_ADMIN_RATE_BURST: '100000',
    PLAYPULSE_LOG_LEVEL: process.env.PLAYPULSE_LOG_LEVEL ?? 'warn',
    ...(opts.env ?? {}),
  };
  const config = withServices(loadConfig(env), { kafkaBrokers: brokers, redisUrl });
  const redis = createRedis(redisUrl, 'integrity');
  redis.on('error', () => undefined);
  const processes: RoleProcess[] = [];
  return {
    env,
    config,
    brokers,
    redisUrl,
    redis,
    keyPrefix,
    topic: config.topics.events,
    deadLetterTopic: config.topics.deadLetter,
    groupId: `${keyPrefix}-processors`,
    processes,
    createTopics: () => createTestTopics(config),
    cleanup: async () => {
      await Promise.all(processes.map((p) => p.stop(5_000)));
      const admin = integrityKafka(brokers).admin();
      try {
        await admin.connect();
        const existing = new Set(await admin.listTopics());
        const mine = [config.topics.events, config.topics.deadLetter].filter((t) => existing.has(t));
        if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 10_000 });
      } catch {
        // a dedicated broker may already be gone
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      try {
        await cleanupRedisPrefix(redis, keyPrefix);
      } catch {
        // a dedicated Redis may already be gone
      }
      redis.disconnect();
    },
  };
}

/**
 * A World for the enclosing `describe`: made and its topics created before its tests, cleaned
 * up after them. Returns an accessor, valid from the first test on.
 */
export function useWorld(opts: Parameters<typeof createWorld>[0] = {}): () => World {
  let world: World | undefined;
  beforeAll(async () => {
    world = createWorld(opts);
    await world.createTopics();
  });
  afterAll(async () => {
    await world?.cleanup();
  });
  return () => {
    if (!world) throw new Error('the world is made in beforeAll; use it inside a test');
    return world;
  };
}
