import type { TestProject } from 'vitest/node';
import { loadConfig } from '../../lib/config.ts';
import { resolveStack, startRedisCluster } from '../../infra/stack.ts';

/**
 * Global setup of the `integration` project: finds or starts Kafka and Redis once per run
 * (infra/stack.ts) and provides their addresses to every test (`inject`, or
 * test/helpers/stack.ts `testServices()`). A broker this run starts listens on a free port,
 * so no other run finds it and depends on it. With PLAYPULSE_TEST_REDIS=cluster the tests
 * get a local 3-node Redis Cluster instead of the single Redis. Whatever was started here is
 * stopped in teardown (and dies with this process if it is killed).
 */
declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    redisUrl: string;
    kafkaVersion: string;
  }
}

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const config = loadConfig(process.env);
  const stack = await resolveStack(config, { startKafkaOnPort: 0, kafkaQuickStart: true });
  let redisUrl = stack.redisUrl;
  let stopCluster: () => Promise<void> = async () => undefined;
  if (process.env.PLAYPULSE_TEST_REDIS === 'cluster') {
    try {
      const cluster = await startRedisCluster(3);
      redisUrl = cluster.url;
      stopCluster = cluster.stop;
    } catch (err) {
      await stack.stop();
      throw err;
    }
  }
  project.provide('kafkaBrokers', [...stack.kafkaBrokers]);
  project.provide('redisUrl', redisUrl);
  project.provide('kafkaVersion', stack.kafkaVersion);
  return async () => {
    await stopCluster();
    await stack.stop();
  };
}
