import { afterEach, describe, expect, it } from 'vitest';
import { isPlayPulseError } from '../lib/errors.ts';
import { ensureKafkaJars, mavenErrors } from './kafka-jars.ts';
import { clusterBrokerSettings, serverProperties } from './kafka-properties.ts';
import { startRedisServer } from './redis-server.ts';
import { findOnPath, parseJavaMajor, requireJava, requireTool } from './tools.ts';

const saved = { PATH: process.env.PATH, JAVA_HOME: process.env.JAVA_HOME };
afterEach(() => {
  process.env.PATH = saved.PATH;
  if (saved.JAVA_HOME === undefined) delete process.env.JAVA_HOME;
  else process.env.JAVA_HOME = saved.JAVA_HOME;
});

async function errorOf(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('missing tools name what to install', () => {
  it('java', async () => {
    process.env.PATH = '';
    delete process.env.JAVA_HOME;
    const err = await errorOf(() => requireJava());
    expect(isPlayPulseError(err, 'STACK_MISSING_TOOL')).toBe(true);
    expect((err as Error).message).toMatch(/install a JDK 17\+/);
  });

  it('java from a JAVA_HOME that holds none', async () => {
    process.env.JAVA_HOME = '/nonexistent-jdk';
    const err = await errorOf(() => requireJava());
    expect(isPlayPulseError(err, 'STACK_MISSING_TOOL')).toBe(true);
    expect((err as Error).message).toContain('/nonexistent-jdk/bin/java');
  });

  it('Maven, when the jars are not cached', async () => {
    process.env.PATH = '';
    const err = await errorOf(() => ensureKafkaJars('0.0.1'));
    expect(isPlayPulseError(err, 'STACK_MISSING_TOOL')).toBe(true);
    expect((err as Error).message).toMatch(/install Maven/);
  });

  it('redis-server', async () => {
    process.env.PATH = '';
    const err = await errorOf(() => startRedisServer());
    expect(isPlayPulseError(err, 'STACK_MISSING_TOOL')).toBe(true);
    expect((err as Error).message).toMatch(/install redis-server/);
  });

  it('any tool', () => {
    expect(() => requireTool('playpulse-no-such-tool', 'install it')).toThrow(/playpulse-no-such-tool is not on PATH: install it/);
    expect(findOnPath('sh', '/bin:/usr/bin')).toMatch(/\/sh$/);
  });
});

describe('parseJavaMajor', () => {
  it('reads modern and legacy version strings', () => {
    expect(parseJavaMajor('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(parseJavaMajor('openjdk version "21" 2023-09-19')).toBe(21);
    expect(parseJavaMajor('java version "1.8.0_392"')).toBe(8);
    expect(parseJavaMajor('nonsense')).toBeNull();
  });
});

describe('serverProperties', () => {
  it('is a single-node KRaft broker+controller with single-replica internal topics and no auto-created topics', () => {
    const text = serverProperties({ port: 19092, controllerPort: 19093, logDir: '/tmp/x' });
    const props = Object.fromEntries(text.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
    expect(props).toMatchObject({
      'process.roles': 'broker,controller',
      'controller.quorum.voters': '1@127.0.0.1:19093',
      listeners: 'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093',
      'offsets.topic.replication.factor': '1',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      'group.initial.rebalance.delay.ms': '0',
      'auto.create.topics.enable': 'false',
      'log.dirs': '/tmp/x',
    });
  });
});

describe('serverProperties of a cluster node', () => {
  it('is one voter of the quorum and runs the broker settings of deploy/cluster-settings.json', () => {
    const settings = clusterBrokerSettings();
    const voters = '1@127.0.0.1:19093,2@127.0.0.1:19193,3@127.0.0.1:19293';
    const text = serverProperties({ nodeId: 2, port: 19192, controllerPort: 19193, logDir: '/tmp/y', voters, durability: settings.broker });
    const props = Object.fromEntries(text.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
    expect(settings.brokers).toBe(3);
    expect(props).toMatchObject({
      'node.id': '2',
      'controller.quorum.voters': voters,
      listeners: 'PLAINTEXT://127.0.0.1:19192,CONTROLLER://127.0.0.1:19193',
      'default.replication.factor': '3',
      'min.insync.replicas': '2',
      'unclean.leader.election.enable': 'false',
      'offsets.topic.replication.factor': '3',
      'transaction.state.log.min.isr': '2',
    });
    for (const [name, value] of Object.entries(settings.broker)) expect(props[name], name).toBe(String(value));
    expect(props['share.coordinator.state.topic.replication.factor']).toBeUndefined();
  });
});

describe('mavenErrors', () => {
  it('keeps what failed and drops Maven’s generic advice', () => {
    const out = [
      '\u001b[0m[ERROR] Failed to execute goal: org.apache.kafka:kafka_2.13:jar:9.9.9 was not found -> [Help 1]',
      '[ERROR] ',
      '[ERROR] To see the full stack trace of the errors, re-run Maven with the -e switch.',
      '[ERROR] [Help 1] http://example.invalid/DependencyResolutionException',
    ].join('\n');
    expect(mavenErrors(out)).toBe('[ERROR] Failed to execute goal: org.apache.kafka:kafka_2.13:jar:9.9.9 was not found -> [Help 1]');
  });
});
