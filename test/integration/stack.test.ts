import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { EachBatchPayload } from 'kafkajs';
import type { Cluster } from 'ioredis';
import { loadConfig } from '../../lib/config.ts';
import { isPlayPulseError } from '../../lib/errors.ts';
import { createDurableProducer, createKafka } from '../../lib/kafka.ts';
import { createRedis, deleteKeysUnder } from '../../lib/redis.ts';
import { resolveStack, startRedisCluster } from '../../infra/stack.ts';
import { freePort, isPortOpen } from '../../infra/ports.ts';
import { cleanupRedisPrefix, createTestTopics, testConfig, testServices, uniqueName } from '../helpers/stack.ts';
import { sleep } from '../../lib/time.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function deleteTopics(brokers: string[], topics: string[]): Promise<void> {
  const admin = createKafka(brokers, 'test-cleanup').admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}

describe('resolveStack against the run’s broker', () => {
  it('creates the events and dead-letter topics with the configured partition count', async () => {
    const { kafkaBrokers, redisUrl } = testServices();
    const base = testConfig();
    const config = loadConfig({
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      PLAYPULSE_TOPIC_PREFIX: `${uniqueName('stack')}.`,
      PLAYPULSE_PARTITIONS: '5',
      PLAYPULSE_LOG_LEVEL: base.logLevel,
    });
    const stack = await resolveStack(config);
    cleanups.push(() => deleteTopics(kafkaBrokers, [config.topics.events, config.topics.deadLetter]));
    cleanups.push(() => stack.stop());
    expect(stack.startedKafka).toBe(false);
    expect(stack.startedRedis).toBe(false);
    expect(stack.kafkaBrokers).toEqual(kafkaBrokers);

    const admin = createKafka(stack.kafkaBrokers, 'test-admin').admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const meta = await admin.fetchTopicMetadata({ topics: [config.topics.events, config.topics.deadLetter] });
    const partitions = Object.fromEntries(meta.topics.map((t) => [t.name, t.partitions.length]));
    expect(partitions).toEqual({ [config.topics.events]: 5, [config.topics.deadLetter]: 5 });
  });

  it('passes idempotent acks=-1 records through the broker to a consumer group that commits, and rebalances across two consumers', async () => {
    const config = testConfig({ PLAYPULSE_PARTITIONS: '4' });
    await createTestTopics(config);
    const brokers = [...(config.kafkaBrokers ?? [])];
    cleanups.push(() => deleteTopics(brokers, [config.topics.events, config.topics.deadLetter]));
    const kafka = createKafka(brokers, uniqueName('test-client'));
    const producer = createDurableProducer(kafka);
    await producer.connect();
    cleanups.push(() => producer.disconnect());

    const first = Array.from({ length: 100 }, (_, i) => ({ key: `player-${i % 13}`, value: `a${i}` }));
    const acks = await producer.send({ topic: config.topics.events, acks: -1, messages: first });
    expect(acks.every((a) => a.errorCode === 0)).toBe(true);

    const groupId = uniqueName('test-group');
    const received = new Map<string, Set<string>>();
    const assignments = new Map<string, number[]>();
    const startConsumer = async (name: string) => {
      const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, rebalanceTimeout: 10_000, maxWaitTimeInMs: 250 });
      received.set(name, new Set());
      consumer.on(consumer.events.GROUP_JOIN, (e) => assignments.set(name, e.payload.memberAssignment[config.topics.events] ?? []));
      await consumer.connect();
      cleanups.push(() => consumer.disconnect());
      await consumer.subscribe({ topics: [config.topics.events], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat }: EachBatchPayload) => {
          for (const m of batch.messages) {
            received.get(name)?.add(m.value?.toString() ?? '');
            resolveOffset(m.offset);
          }
          await commitOffsetsIfNecessary({
            topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }] }],
          });
          await heartbeat();
        },
      });
    };

    await startConsumer('one');
    await until('the first consumer to read every record', () => received.get('one')?.size === first.length);
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await until('offsets of every record to be committed', async () => {
      const [topic] = await admin.fetchOffsets({ groupId, topics: [config.topics.events] });
      return (topic?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0) === first.length;
    });

    await startConsumer('two');
    await until('the group to split the 4 partitions between both consumers', () => {
      const one = assignments.get('one') ?? [];
      const two = assignments.get('two') ?? [];
      return one.length > 0 && two.length > 0 && new Set([...one, ...two]).size === 4;
    });
    const second = Array.from({ length: 60 }, (_, i) => ({ key: `player-${i % 13}`, value: `b${i}` }));
    await producer.send({ topic: config.topics.events, acks: -1, messages: second });
    const secondSeen = () => [...received.values()].flatMap((s) => [...s]).filter((v) => v.startsWith('b'));
    await until('both consumers together to read the second batch', () => new Set(secondSeen()).size === second.length);
    expect([...(received.get('two') ?? [])].some((v) => v.startsWith('a'))).toBe(false);
    expect(received.get('two')?.size).toBeGreaterThan(0);
  });
});

describe('resolveStack with a dead address', () => {
  it('fails with STACK_UNAVAILABLE naming the Kafka address, without hanging', { timeout: 20_000 }, async () => {
    const port = await freePort();
    const config = loadConfig({ KAFKA_BROKERS: `127.0.0.1:${port}`, PLAYPULSE_KAFKA_CONNECT_TIMEOUT_MS: '2000', PLAYPULSE_LOG_LEVEL: 'silent' });
    const error = await resolveStack(config).then(
      () => null,
      (err: unknown) => err,
    );
    expect(isPlayPulseError(error, 'STACK_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain(`Kafka is unreachable at 127.0.0.1:${port}`);
    expect((error as Error).message).not.toMatch(/\n\s+at /);
  });

  it('fails with STACK_UNAVAILABLE naming the Redis address', { timeout: 20_000 }, async () => {
    const port = await freePort();
    const config = loadConfig({
      KAFKA_BROKERS: testServices().kafkaBrokers.join(','),
      REDIS_URL: `redis://127.0.0.1:${port}`,
      PLAYPULSE_LOG_LEVEL: 'silent',
    });
    const error = await resolveStack(config).then(
      () => null,
      (err: unknown) => err,
    );
    expect(isPlayPulseError(error, 'STACK_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain(`Redis is unreachable at redis://127.0.0.1:${port}`);
  });
});

/** pids of the direct children of `pid` (Linux /proc). */
function childPids(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      continue;
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('processes started by the stack', () => {
  it('do not outlive a parent that is killed with SIGKILL', { timeout: 90_000 }, async () => {
    const script = fileURLToPath(new URL('../helpers/stack-child.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, PLAYPULSE_LOG_LEVEL: 'warn' },
    });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        const nl = out.indexOf('\n');
        if (nl >= 0) resolve(out.slice(0, nl));
      });
      child.once('exit', (code) => reject(new Error(`the child exited (${code}) before starting its services`)));
    });
    const started = JSON.parse(line) as {
      kafka: { brokers: string[]; pid: number; dataDir: string };
      redis: { url: string; pid: number; dataDir: string };
    };
    const kafkaPort = Number(started.kafka.brokers[0]?.split(':')[1]);
    const redisPort = Number(new URL(started.redis.url).port);
    const [java] = childPids(started.kafka.pid);
    const [redisServer] = childPids(started.redis.pid);
    expect(java).toBeDefined();
    expect(redisServer).toBeDefined();
    expect(readFileSync(`/proc/${java}/cmdline`, 'utf8')).toContain('kafka.Kafka');
    expect(await isPortOpen('127.0.0.1', kafkaPort)).toBe(true);

    child.kill('SIGKILL');
    await until('the broker JVM and redis-server to exit', () => !isAlive(java as number) && !isAlive(redisServer as number), 60_000);
    await until('their watchdogs to exit', () => !isAlive(started.kafka.pid) && !isAlive(started.redis.pid));
    expect(await isPortOpen('127.0.0.1', kafkaPort)).toBe(false);
    expect(await isPortOpen('127.0.0.1', redisPort)).toBe(false);
    expect(existsSync(started.kafka.dataDir)).toBe(false);
    expect(existsSync(started.redis.dataDir)).toBe(false);
  });
});

describe('startRedisCluster', () => {
  it('starts a 3-master cluster where keys of one hash tag work in one MULTI and one Lua script', { timeout: 60_000 }, async () => {
    const cluster = await startRedisCluster(3);
    cleanups.push(() => cluster.stop());
    expect(cluster.url).toMatch(/^redis\+cluster:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
    const redis = createRedis(cluster.url, 'test-cluster');
    cleanups.push(async () => redis.disconnect());
    const prefix = uniqueName('t');

    const info = await redis.cluster('INFO');
    expect(info).toContain('cluster_state:ok');
    expect(info).toContain('cluster_known_nodes:3');

    const a = `${prefix}:{p:42}:a`;
    const b = `${prefix}:{p:42}:b`;
    const results = await redis.multi().set(a, '1').incrby(b, 5).exec();
    expect(results?.map(([err]) => err)).toEqual([null, null]);
    const sum = await redis.eval(
      "return tonumber(redis.call('GET', KEYS[1])) + redis.call('INCRBY', KEYS[2], ARGV[1])",
      2,
      a,
      b,
      '10',
    );
    expect(sum).toBe(16);

    for (let i = 0; i < 30; i++) await redis.set(`${prefix}:{p:${i}}:state`, 'x');
    const masters = (redis as Cluster).nodes('master');
    const perMaster = await Promise.all(masters.map((m) => m.dbsize()));
    expect(perMaster.filter((n) => n > 0).length).toBeGreaterThan(1);
    expect(await cleanupRedisPrefix(redis, prefix)).toBe(32);
    expect(await Promise.all(masters.map((m) => m.dbsize()))).toEqual([0, 0, 0]);

    const ports = cluster.nodes.map((n) => n.port);
    await cluster.stop();
    expect(await Promise.all(ports.map((p) => isPortOpen('127.0.0.1', p)))).toEqual([false, false, false]);
  });
});

describe('deleteKeysUnder', () => {
  it('deletes the keys under a prefix and nothing else, taking glob characters in the prefix literally', async () => {
    const redis = createRedis(testServices().redisUrl, 'test-delete-keys');
    cleanups.push(async () => redis.disconnect());
    const base = uniqueName('t');
    const prefix = `${base}*[x]`;
    const neighbours = [`${base}-x[x]:a`, `${base}x:a`, `${base}*[x]b:a`, `${base}*:a`];
    for (let i = 0; i < 25; i++) await redis.set(`${prefix}:{p:${i}}:state`, 'x');
    for (const key of neighbours) await redis.set(key, 'y');
    cleanups.push(() => redis.del(...neighbours));

    expect(await deleteKeysUnder(redis, prefix)).toBe(25);
    expect(await redis.exists(`${prefix}:{p:0}:state`)).toBe(0);
    expect(await redis.exists(...neighbours)).toBe(neighbours.length);
  });
});
