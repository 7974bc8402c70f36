/**
 * A process that starts its own Kafka broker (on a free port) and redis-server, prints one
 * JSON line `{ kafka: { brokers, pid, dataDir }, redis: { url, pid, dataDir } }` and then
 * waits to be killed. test/integration/stack.test.ts SIGKILLs it to prove that nothing it
 * started outlives it.
 */
import { startKafkaBroker } from '../../infra/kafka-broker.ts';
import { startRedisServer } from '../../infra/redis-server.ts';

const [kafka, redis] = await Promise.all([startKafkaBroker({ port: 0, heapMb: 256, quickStart: true }), startRedisServer()]);
process.stdout.write(
  `${JSON.stringify({
    kafka: { brokers: kafka.brokers, pid: kafka.pid, dataDir: kafka.dataDir },
    redis: { url: redis.url, pid: redis.pid, dataDir: redis.dataDir },
  })}\n`,
);
setInterval(() => undefined, 60_000);
