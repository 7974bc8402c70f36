/**
 * deploy/k8s/ is read (no cluster here) and held to the code, for the base and for each
 * overlay with its patches applied: every variable is one lib/config.ts knows and the
 * whole environment validates, secrets come only from a Secret, probes hit the paths the
 * health server answers on the ports the role serves, every container has requests,
 * the edge's grace period covers its drain, processors stay within the partitions, and
 * Kafka (Strimzi) and the Redis Cluster run the settings of deploy/cluster-settings.json.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { nodeFlagsFor } from '../../bin/node-flags.ts';
import { parseRoles, type Role } from '../../bin/roles.ts';
import { loadConfig, type Config } from '../../lib/config.ts';
import {
  clusterSettings,
  configVariables,
  healthStatus,
  hostPorts,
  imageEnv,
  isSecretVariable,
  readRepoFile,
  readYaml,
  readYamlDocuments,
  redisConf,
  STAND_IN_SECRET,
} from './deploy-support.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are walked as plain YAML data */
type K8s = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string> };
interface Kustomization {
  resources?: string[];
  secretGenerator?: { name: string; literals?: string[] }[];
  patches?: { target: { kind: string; name: string }; patch: string }[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

const K8S = 'deploy/k8s';
const settings = clusterSettings();
const known = configVariables();

/** The objects of a kustomization, overlays resolved, `replace` patches applied, generated Secrets added. */
function build(dir: string): { objects: K8s[]; kustomization: Kustomization } {
  const k = readYaml<Kustomization>(join(dir, 'kustomization.yaml'));
  const objects: K8s[] = [];
  for (const r of k.resources ?? []) {
    if (r.endsWith('.yaml')) objects.push(...readYamlDocuments<K8s>(join(dir, r)));
    else objects.push(...build(join(dir, r)).objects);
  }
  for (const g of k.secretGenerator ?? []) {
    const data = Object.fromEntries((g.literals ?? []).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    objects.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: g.name }, data });
  }
  for (const p of k.patches ?? []) {
    const target = objects.find((o) => o.kind === p.target.kind && o.metadata.name === p.target.name);
    expect(target, `${dir}: patch target ${p.target.kind}/${p.target.name}`).toBeDefined();
    for (const op of parsePatch(p.patch)) {
      expect(op.op, `${dir}: only replace patches are applied here`).toBe('replace');
      const keys = op.path.split('/').slice(1);
      let at: any = target;
      for (const key of keys.slice(0, -1)) at = at[key];
      expect(keys.at(-1) as string in at, `${dir}: ${op.path} exists`).toBe(true);
      at[keys.at(-1) as string] = op.value;
    }
  }
  return { objects, kustomization: k };
}

/** A JSON 6902 patch written as YAML. */
function parsePatch(text: string): { op: string; path: string; value: unknown }[] {
  return parse(text) as { op: string; path: string; value: unknown }[];
}

const builds = {
  base: build(`${K8S}/base`),
  dev: build(`${K8S}/overlays/dev`),
  prod: build(`${K8S}/overlays/prod`),
};

const ROLE_OF: Record<string, Role> = { edge: 'edge', processors: 'processors', offers: 'offers' };

function workloads(objects: K8s[]): K8s[] {
  return objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));
}
function podSpec(o: K8s): any {
  return o.spec.template.spec;
}
function byKind(objects: K8s[], kind: string, name?: string): K8s[] {
  return objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}
function one(objects: K8s[], kind: string, name: string): K8s {
  const found = byKind(objects, kind, name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0] as K8s;
}

/** The environment a role's container starts with, secrets from the Secret when the overlay has one. */
function containerEnv(objects: K8s[], container: any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, one(objects, 'ConfigMap', from.configMapRef.name).data);
    if (from.secretRef) {
      const secret = byKind(objects, 'Secret', from.secretRef.name)[0];
      if (secret) Object.assign(env, secret.data);
      else for (const name of ['PLAYPULSE_AUTH_SECRET', 'PLAYPULSE_ADMIN_TOKEN']) env[name] = STAND_IN_SECRET;
    }
  }
  for (const e of container.env ?? []) env[e.name] = e.value ?? (e.valueFrom?.fieldRef ? 'pod-name-0' : '');
  return env;
}

function roleDeployments(objects: K8s[]): { d: K8s; container: any; role: Role; config: Config }[] {
  return byKind(objects, 'Deployment').map((d) => {
    const container = podSpec(d).containers[0];
    expect(container.args[0]).toBe('--role');
    const roles = parseRoles(container.args[1]);
    expect(roles).toHaveLength(1);
    expect(roles[0]).toBe(ROLE_OF[d.metadata.name]);
    // The container starts with the image's ENV (NODE_ENV, PLAYPULSE_ENV), then its own.
    return { d, container, role: roles[0] as Role, config: loadConfig({ ...imageEnv(), ...containerEnv(objects, container) }) };
  });
}

function portNumber(container: any, port: string | number): number {
  if (typeof port === 'number') return port;
  const p = (container.ports ?? []).find((cp: any) => cp.name === port);
  expect(p, `named port ${port}`).toBeDefined();
  return p.containerPort;
}

describe.each(Object.entries(builds))('k8s %s', (_name, { objects }) => {
  it('runs each role once, with the roles the code has', () => {
    expect(roleDeployments(objects).map((r) => r.role).sort()).toEqual(['edge', 'offers', 'processors']);
  });

  it('sets only variables lib/config.ts knows, and their environment validates', () => {
    for (const cm of byKind(objects, 'ConfigMap', 'playpulse-config')) {
      for (const key of Object.keys(cm.data ?? {})) expect(known.has(key), `ConfigMap: ${key}`).toBe(true);
    }
    for (const s of byKind(objects, 'Secret')) for (const key of Object.keys(s.data ?? {})) expect(known.has(key), `Secret: ${key}`).toBe(true);
    for (const { d, container } of roleDeployments(objects)) {
      for (const e of container.env ?? []) if (e.name !== 'NODE_OPTIONS') expect(known.has(e.name), `${d.metadata.name}: ${e.name}`).toBe(true);
    }
  });

  it("starts each role with its Node flags (bin/node-flags.ts), through Node's NODE_OPTIONS", () => {
    for (const { d, container, role } of roleDeployments(objects)) {
      const set = (container.env ?? []).find((e: any) => e.name === 'NODE_OPTIONS')?.value ?? '';
      expect(set, d.metadata.name).toBe(nodeFlagsFor([role]).join(' '));
    }
  });

  it('keeps secrets in a Secret only, and runs no role on a dev secret', () => {
    for (const cm of byKind(objects, 'ConfigMap')) {
      for (const key of Object.keys(cm.data ?? {})) expect(isSecretVariable(key), `${cm.metadata.name}: ${key}`).toBe(false);
    }
    for (const { d, container, config } of roleDeployments(objects)) {
      for (const e of container.env ?? []) expect(isSecretVariable(e.name), `${d.metadata.name}: ${e.name}`).toBe(false);
      expect(container.envFrom.some((f: any) => f.secretRef?.name === 'playpulse-secrets')).toBe(true);
      expect(config.authSecretIsDev || config.adminTokenIsDev).toBe(false);
    }
  });

  it(`runs every role in ${_name === 'dev' ? 'development' : 'production'} mode, said in the ConfigMap`, () => {
    const production = _name !== 'dev';
    expect(one(objects, 'ConfigMap', 'playpulse-config').data?.PLAYPULSE_ENV).toBe(production ? 'production' : 'development');
    for (const { d, config } of roleDeployments(objects)) expect(config.production, d.metadata.name).toBe(production);
  });

  it('probes hit the health paths on the port the role serves them', async () => {
    for (const { d, container, role, config } of roleDeployments(objects)) {
      const healthPort = role === 'edge' ? config.edgePort : config.healthPort;
      const ready = container.readinessProbe.httpGet;
      const live = container.livenessProbe.httpGet;
      expect(ready.path, d.metadata.name).toBe('/readyz');
      expect(live.path, d.metadata.name).toBe('/healthz');
      expect(await healthStatus(ready.path)).toBe(200);
      expect(await healthStatus(live.path)).toBe(200);
      expect(portNumber(container, ready.port)).toBe(healthPort);
      expect(portNumber(container, live.port)).toBe(healthPort);
      if (role === 'offers') expect(container.ports.map((p: any) => p.containerPort)).toContain(config.adminPort);
      const scrape = d.spec.template.metadata.annotations;
      expect(Number(scrape['prometheus.io/port'])).toBe(healthPort);
      expect(await healthStatus(scrape['prometheus.io/path'])).toBe(200);
    }
  });

  it('every container has CPU and memory requests and a memory limit', () => {
    for (const w of workloads(objects)) {
      for (const c of podSpec(w).containers) {
        expect(c.resources?.requests?.cpu, `${w.metadata.name}/${c.name}`).toBeDefined();
        expect(c.resources?.requests?.memory, `${w.metadata.name}/${c.name}`).toBeDefined();
        expect(c.resources?.limits?.memory, `${w.metadata.name}/${c.name}`).toBeDefined();
      }
    }
    for (const pool of byKind(objects, 'KafkaNodePool')) expect(pool.spec.resources.requests.memory).toBeDefined();
  });

  it('runs every pod as a non-root user; the roles as the image user', () => {
    const imageUser = /^USER (\d+)/m.exec(readRepoFile('Dockerfile'))?.[1];
    for (const w of workloads(objects)) {
      const sc = podSpec(w).securityContext;
      expect(sc?.runAsNonRoot, w.metadata.name).toBe(true);
      expect(sc.runAsUser).toBeGreaterThan(0);
    }
    for (const { d } of roleDeployments(objects)) expect(String(podSpec(d).securityContext.runAsUser)).toBe(imageUser);
  });

  it("the edge's grace period covers the preStop wait and the drain", () => {
    const { d, container, config } = roleDeployments(objects).find((r) => r.role === 'edge')!;
    const sleep = container.lifecycle.preStop.exec.command;
    expect(sleep[0]).toBe('sleep');
    expect(podSpec(d).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(Number(sleep[1]) + config.edge.drainTimeoutMs / 1000 + 5);
    expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it('processors never outnumber the partitions; only the edge autoscales', () => {
    const { d, config } = roleDeployments(objects).find((r) => r.role === 'processors')!;
    expect(d.spec.replicas).toBeLessThanOrEqual(config.topics.partitions);
    const hpas = byKind(objects, 'HorizontalPodAutoscaler');
    expect(hpas.map((h) => h.spec.scaleTargetRef.name)).toEqual(['edge']);
    for (const h of hpas) {
      expect(one(objects, 'Deployment', h.spec.scaleTargetRef.name)).toBeDefined();
      expect(h.spec.minReplicas).toBeLessThanOrEqual(h.spec.maxReplicas);
    }
  });

  it('every workload has a disruption budget, every Service selects pods and their named ports', () => {
    const pods = [...byKind(objects, 'Deployment'), ...byKind(objects, 'StatefulSet')];
    const matches = (sel: Record<string, string>, o: K8s) => Object.entries(sel).every(([k, v]) => o.spec.template.metadata.labels?.[k] === v);
    for (const w of pods) {
      expect(byKind(objects, 'PodDisruptionBudget').some((p) => matches(p.spec.selector.matchLabels, w)), `${w.metadata.name} has no PDB`).toBe(true);
    }
    for (const svc of byKind(objects, 'Service')) {
      const selected = pods.filter((w) => matches(svc.spec.selector, w));
      expect(selected.length, `${svc.metadata.name} selects nothing`).toBeGreaterThan(0);
      for (const port of svc.spec.ports) {
        const target = port.targetPort ?? port.port;
        for (const w of selected) {
          const ports = podSpec(w).containers.flatMap((c: any) => c.ports ?? []);
          expect(ports.some((p: any) => p.name === target || p.containerPort === target), `${svc.metadata.name}:${target}`).toBe(true);
        }
      }
    }
  });
});

describe('k8s: Kafka through Strimzi', () => {
  const { objects } = builds.base;
  const kafka = one(objects, 'Kafka', 'playpulse');
  const config = roleDeployments(objects)[0]!.config;

  it('a KRaft cluster of node pools with the broker settings', () => {
    expect(kafka.apiVersion).toBe('kafka.strimzi.io/v1beta2');
    expect((kafka.metadata as any).annotations).toMatchObject({ 'strimzi.io/node-pools': 'enabled', 'strimzi.io/kraft': 'enabled' });
    expect(kafka.spec.kafka.config).toEqual(settings.kafka.broker);
    const pools = byKind(objects, 'KafkaNodePool');
    expect(pools.every((p) => p.metadata.labels?.['strimzi.io/cluster'] === 'playpulse')).toBe(true);
    const brokers = pools.filter((p) => p.spec.roles.includes('broker')).reduce((n, p) => n + p.spec.replicas, 0);
    const controllers = pools.filter((p) => p.spec.roles.includes('controller')).reduce((n, p) => n + p.spec.replicas, 0);
    expect(brokers).toBe(settings.kafka.brokers);
    expect(controllers % 2).toBe(1);
  });

  it('PlayPulse is pointed at the bootstrap service of its plain listener', () => {
    const listener = kafka.spec.kafka.listeners.find((l: any) => l.tls === false);
    expect(config.kafkaBrokers).toEqual([`${kafka.metadata.name}-kafka-bootstrap:${listener.port}`]);
  });

  it('the topics of the config, with the partitions, replication and retention of the settings', () => {
    const topics = byKind(objects, 'KafkaTopic');
    expect(topics.map((t) => t.spec.topicName ?? t.metadata.name).sort()).toEqual([config.topics.events, config.topics.deadLetter].sort());
    for (const t of topics) {
      expect(t.metadata.labels?.['strimzi.io/cluster']).toBe(kafka.metadata.name);
      expect(t.spec.partitions).toBe(config.topics.partitions);
      expect(t.spec.partitions).toBe(settings.kafka.topics.partitions);
      expect(t.spec.replicas).toBe(settings.kafka.topics.replicas);
      expect(t.spec.config).toEqual(settings.kafka.topics.config);
    }
  });
});

describe('k8s: Redis Cluster', () => {
  const { objects } = builds.base;
  const sts = one(objects, 'StatefulSet', 'redis-cluster');
  const conf = redisConf(one(objects, 'ConfigMap', 'redis-cluster-config').data?.['redis.conf'] ?? '');
  const config = roleDeployments(objects)[0]!.config;
  const headless = one(objects, 'Service', sts.spec.serviceName);

  it('a StatefulSet of masters and replicas behind a headless service', () => {
    expect(sts.spec.replicas).toBe(settings.redis.masters * (1 + settings.redis.replicasPerMaster));
    expect(headless.spec.clusterIP).toBe('None');
    const job = one(objects, 'Job', 'redis-cluster-create');
    const script = podSpec(job).containers[0].args.join('\n');
    expect(script).toContain(`--cluster-replicas ${settings.redis.replicasPerMaster}`);
    expect(script).toContain(`for i in ${Array.from({ length: sts.spec.replicas }, (_, i) => i).join(' ')}; do`);
  });

  it('every node runs in cluster mode, announces its stable name, with the durability settings', () => {
    expect(conf.get('cluster-enabled')).toBe('yes');
    expect(conf.get('cluster-preferred-endpoint-type')).toBe('hostname');
    for (const [k, v] of Object.entries(settings.redis.config)) expect(conf.get(k), k).toBe(String(v));
    expect(podSpec(sts).containers[0].args).toContain(`$(POD_NAME).${headless.metadata.name}`);
  });

  it('PlayPulse seeds its cluster client with pods of that StatefulSet', () => {
    expect(config.redisUrl?.startsWith('redis+cluster://')).toBe(true);
    for (const { host, port } of hostPorts(config.redisUrl ?? '')) {
      const m = new RegExp(`^${sts.metadata.name}-(\\d+)\\.${headless.metadata.name}$`).exec(host);
      expect(m, host).not.toBeNull();
      expect(Number(m?.[1])).toBeLessThan(sts.spec.replicas);
      expect(port).toBe(Number(conf.get('port')));
    }
  });
});

describe('k8s overlays', () => {
  it('dev generates its Secret; prod expects one made outside the repository and sets the image', () => {
    expect(builds.dev.kustomization.secretGenerator?.map((g) => g.name)).toEqual(['playpulse-secrets']);
    expect(builds.prod.kustomization.secretGenerator).toBeUndefined();
    expect(byKind(builds.prod.objects, 'Secret')).toHaveLength(0);
    const images = new Set(roleDeployments(builds.base.objects).map(({ container }) => String(container.image).split(':')[0]));
    expect(builds.prod.kustomization.images?.map((i) => i.name)).toEqual([...images]);
  });
});
