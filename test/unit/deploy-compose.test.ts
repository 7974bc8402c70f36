/**
 * deploy/compose/ cannot be brought up here (no Docker engine); it is read and held to the
 * code: every variable it gives PlayPulse is one lib/config.ts knows and validates, the
 * ports are the config's, the brokers and Redis nodes named are the ones it runs with the
 * settings of deploy/cluster-settings.json, and the load balancer checks a real path.
 */
import { describe, expect, it } from 'vitest';
import { nodeFlagsFor } from '../../bin/node-flags.ts';
import { parseRoles } from '../../bin/roles.ts';
import { loadConfig } from '../../lib/config.ts';
import {
  clusterSettings,
  configVariables,
  defaultConfig,
  healthStatus,
  hostPorts,
  imageEnv,
  isSecretVariable,
  readRepoFile,
  readYaml,
  redisConf,
  STAND_IN_SECRET,
} from './deploy-support.ts';

interface Service {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }> | string[];
  deploy?: { replicas?: number };
  ports?: string[];
  volumes?: string[];
}

const compose = readYaml<{ services: Record<string, Service> }>('deploy/compose/docker-compose.yml');
const services = compose.services;
const settings = clusterSettings();
const defaults = defaultConfig();

const playpulse = Object.entries(services).filter(([, s]) => s.image?.includes('playpulse'));
const roleOf = (s: Service) => {
  const cmd = s.command as string[];
  expect(cmd[0]).toBe('--role');
  return parseRoles(cmd[1] as string);
};
const withRole = (role: string) => playpulse.filter(([, s]) => roleOf(s).includes(role as never));
const replicas = (s: Service) => s.deploy?.replicas ?? 1;
/** `${NAME:?msg}` / `${NAME:-default}` as compose would expand them, secrets with a stand-in. */
const expand = (v: string) =>
  String(v).replace(/\$\{(\w+)(?::([?-])([^}]*))?\}/g, (_m, _name: string, kind?: string, rest?: string) => (kind === '-' ? (rest ?? '') : STAND_IN_SECRET));

describe('compose: PlayPulse services', () => {
  it('runs 2 edges, 2 processors and 1 offers, each with one role', () => {
    const count = (role: string) => withRole(role).reduce((n, [, s]) => n + replicas(s), 0);
    expect(count('edge')).toBe(2);
    expect(count('processors')).toBe(2);
    expect(count('offers')).toBe(1);
    for (const [, s] of playpulse) expect(roleOf(s)).toHaveLength(1);
  });

  it('sets only variables lib/config.ts knows, and each validates', () => {
    const known = configVariables();
    for (const [name, s] of playpulse) {
      const env = s.environment ?? {};
      for (const key of Object.keys(env)) if (key !== 'NODE_OPTIONS') expect(known.has(key), `${name}: ${key} is not a config variable`).toBe(true);
      const expanded = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, expand(v)]));
      const config = loadConfig({ ...imageEnv(), ...expanded });
      expect(config.production, `${name} runs in production mode`).toBe(true);
      expect(env.PLAYPULSE_ENV, `${name} says production mode itself`).toBe('production');
      expect(config.authSecretIsDev, `${name} runs with the dev auth secret`).toBe(false);
      expect(config.adminTokenIsDev, `${name} runs with the dev admin token`).toBe(false);
    }
  });

  it("starts each role with its Node flags (bin/node-flags.ts), through Node's NODE_OPTIONS", () => {
    for (const [name, s] of playpulse) {
      const flags = nodeFlagsFor(roleOf(s)).join(' ');
      expect(s.environment?.NODE_OPTIONS ?? '', name).toBe(flags);
    }
    expect(withRole('processors').length).toBeGreaterThan(0);
    expect(nodeFlagsFor(['processors']).length).toBeGreaterThan(0);
  });

  it('takes secrets from the environment of `docker compose`, never written in the file', () => {
    for (const [name, s] of playpulse) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (isSecretVariable(key)) expect(value, `${name}: ${key}`).toMatch(/^\$\{\w+:\?[^}]*\}$/);
      }
    }
  });

  it('partitions bound the processors', () => {
    for (const [, s] of withRole('processors')) {
      const config = loadConfig(Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, expand(v)])));
      expect(withRole('processors').reduce((n, [, p]) => n + replicas(p), 0)).toBeLessThanOrEqual(config.topics.partitions);
      expect(config.topics.partitions).toBe(settings.kafka.topics.partitions);
    }
  });

  it('waits for the topics and the Redis cluster to exist', () => {
    for (const [name, s] of playpulse) {
      const deps = s.depends_on as Record<string, { condition: string }>;
      expect(deps['kafka-init']?.condition, name).toBe('service_completed_successfully');
      expect(deps['redis-cluster-init']?.condition, name).toBe('service_completed_successfully');
    }
  });

  it('publishes the admin port of offers as configured', () => {
    const [, offers] = withRole('offers')[0] as [string, Service];
    const config = loadConfig(Object.fromEntries(Object.entries(offers.environment ?? {}).map(([k, v]) => [k, expand(v)])));
    expect(config.adminPort).toBe(defaults.adminPort);
    expect(offers.ports).toContain(`127.0.0.1:${config.adminPort}:${config.adminPort}`);
  });
});

describe('compose: Kafka', () => {
  const brokers = Object.entries(services).filter(([name]) => /^kafka-\d+$/.test(name));
  const env = (s: Service) => s.environment ?? {};

  it(`has ${settings.kafka.brokers} KRaft nodes, each voter of one quorum`, () => {
    expect(brokers).toHaveLength(settings.kafka.brokers);
    const ids = brokers.map(([, s]) => env(s).KAFKA_NODE_ID);
    expect(new Set(ids).size).toBe(brokers.length);
    for (const [name, s] of brokers) {
      const voters = (env(s).KAFKA_CONTROLLER_QUORUM_VOTERS ?? '').split(',');
      expect(voters.sort()).toEqual(brokers.map(([n, b]) => `${env(b).KAFKA_NODE_ID}@${n}:9093`).sort());
      expect(env(s).KAFKA_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://${name}:9092`);
      expect(env(s).KAFKA_PROCESS_ROLES).toBe('broker,controller');
    }
  });

  it('shares one cluster id, a Kafka UUID (16 bytes, base64url)', () => {
    const ids = new Set(brokers.map(([, s]) => env(s).CLUSTER_ID));
    expect(ids.size).toBe(1);
    const id = [...ids][0] as string;
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(id, 'base64url')).toHaveLength(16);
  });

  it('runs the broker settings of deploy/cluster-settings.json', () => {
    for (const [, s] of brokers) {
      for (const [prop, value] of Object.entries(settings.kafka.broker)) {
        const key = `KAFKA_${prop.toUpperCase().replace(/\./g, '_')}`;
        expect(env(s)[key], key).toBe(String(value));
      }
    }
  });

  it('PlayPulse is given exactly those brokers', () => {
    for (const [, s] of playpulse) {
      const listed = hostPorts(s.environment?.KAFKA_BROKERS ?? '');
      expect(listed).toEqual(brokers.map(([name]) => ({ host: name, port: 9092 })));
    }
  });

  it('creates the topics of the config with the replication and retention of the settings', () => {
    const script = (services['kafka-init']?.command as string[]).join('\n');
    const topics = /for topic in ([^;]+);/.exec(script)?.[1]?.trim().split(/\s+/);
    expect(topics).toEqual([defaults.topics.events, defaults.topics.deadLetter]);
    expect(script).toContain(`--partitions ${settings.kafka.topics.partitions}`);
    expect(script).toContain(`--replication-factor ${settings.kafka.topics.replicas}`);
    for (const [k, v] of Object.entries(settings.kafka.topics.config)) expect(script).toContain(`--config ${k}=${v}`);
  });
});

describe('compose: Redis Cluster', () => {
  const nodes = Object.entries(services).filter(([name]) => /^redis-\d+$/.test(name));
  const conf = redisConf(readRepoFile('deploy/compose/redis/redis.conf'));
  const init = readRepoFile('deploy/compose/redis/cluster-init.sh');

  it(`has ${settings.redis.masters} masters with ${settings.redis.replicasPerMaster} replica each`, () => {
    expect(nodes).toHaveLength(settings.redis.masters * (1 + settings.redis.replicasPerMaster));
    expect(init).toContain(`--cluster-replicas ${settings.redis.replicasPerMaster}`);
    const loop = /for i in ([\d ]+); do/.exec(init)?.[1]?.trim().split(' ');
    expect(loop?.map((i) => `redis-${i}`)).toEqual(nodes.map(([n]) => n));
  });

  it('every node runs in cluster mode with the durability settings', () => {
    expect(conf.get('cluster-enabled')).toBe('yes');
    for (const [k, v] of Object.entries(settings.redis.config)) expect(conf.get(k), k).toBe(String(v));
    for (const [, s] of nodes) expect(s.volumes).toContain('./redis/redis.conf:/usr/local/etc/redis/redis.conf:ro');
  });

  it('PlayPulse connects to the cluster through all of its nodes', () => {
    for (const [, s] of playpulse) {
      const url = s.environment?.REDIS_URL ?? '';
      expect(url.startsWith('redis+cluster://')).toBe(true);
      expect(hostPorts(url)).toEqual(nodes.map(([name]) => ({ host: name, port: Number(conf.get('port')) })));
    }
  });
});

describe('compose: load balancer', () => {
  const cfg = readRepoFile('deploy/compose/haproxy/haproxy.cfg');

  it('balances every edge on its configured port', () => {
    const servers = [...cfg.matchAll(/^\s*server (\S+) (\S+):(\d+) check/gm)].map((m) => ({ name: m[1], host: m[2], port: Number(m[3]) }));
    const edges = withRole('edge');
    expect(servers.map((s) => s.host)).toEqual(edges.map(([n]) => n));
    for (const [, s] of edges) {
      const config = loadConfig(Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, expand(v)])));
      expect(config.edgePort).toBe(defaults.edgePort);
      for (const server of servers) expect(server.port).toBe(config.edgePort);
    }
    expect(cfg).toMatch(new RegExp(`^\\s*bind :${defaults.edgePort}$`, 'm'));
    expect(services.haproxy?.ports).toContain(`127.0.0.1:${defaults.edgePort}:${defaults.edgePort}`);
  });

  it('keeps upgraded WebSockets open longer than the edge idle timeout', () => {
    const tunnel = /timeout tunnel (\d+)(s|m|h)/.exec(cfg);
    expect(tunnel).not.toBeNull();
    const seconds = Number(tunnel?.[1]) * ({ s: 1, m: 60, h: 3600 } as Record<string, number>)[tunnel?.[2] ?? 's']!;
    expect(seconds).toBeGreaterThan(defaults.edge.idleTimeoutSec);
  });

  it('takes an edge out on the readiness path the edge serves', async () => {
    const check = /^\s*http-check send meth GET uri (\S+) ver (\S+) hdr Host \S+$/m.exec(cfg);
    const path = check?.[1];
    expect(path).toBe('/readyz');
    // The edge's HTTP server answers HTTP/1.0 requests with 505: the check must speak 1.1.
    expect(check?.[2]).toBe('HTTP/1.1');
    expect(cfg).toMatch(/^\s*option httpchk$/m);
    expect(await healthStatus(path as string)).toBe(200);
  });
});
