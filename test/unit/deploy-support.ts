/**
 * What the deployment tests compare the files of deploy/ against: the variables and
 * defaults of lib/config.ts, the health paths of lib/health.ts, and the shared cluster
 * settings. Everything is read from the code, never restated here.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { loadConfig, type Config } from '../../lib/config.ts';
import { Health, healthReply } from '../../lib/health.ts';

export const REPO = resolve(import.meta.dirname, '../..');
export const DEPLOY = join(REPO, 'deploy');

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO, path), 'utf8');
}

/** Every variable loadConfig reads, found by handing it an environment that records each read. */
export function configVariables(): Set<string> {
  const seen = new Set<string>();
  const env = new Proxy({} as NodeJS.ProcessEnv, {
    get(_target, key) {
      if (typeof key === 'string') seen.add(key);
      return undefined;
    },
  });
  loadConfig(env);
  return seen;
}

/** The configuration with nothing set: the defaults. */
export function defaultConfig(): Config {
  return loadConfig({});
}

/** Variables whose values must come from a Secret, never a ConfigMap or a plain env value. */
export function isSecretVariable(name: string): boolean {
  return /SECRET|TOKEN|PASSWORD/.test(name);
}

/** The `ENV` the image's runtime stage sets (`ENV A=1 B=2`), which every container of deploy/ starts with. */
export function imageEnv(): Record<string, string> {
  const text = readRepoFile('Dockerfile').replace(/\\\n/g, ' ');
  const runtime = text.slice(text.search(/^FROM \S+ AS runtime$/m));
  const env: Record<string, string> = {};
  for (const line of runtime.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const m of (line[1] as string).matchAll(/(\w+)=(\S+)/g)) env[m[1] as string] = m[2] as string;
  }
  return env;
}

/** Values to stand in for `${VAR:?…}` secrets when a file's environment is validated. */
export const STAND_IN_SECRET = 'x'.repeat(32);

/** The status a fresh process answers on `path` (null: no such route). */
export async function healthStatus(path: string): Promise<number | null> {
  const reply = await healthReply(new Health(), path);
  return reply ? reply.status : null;
}

export interface ClusterSettings {
  kafka: {
    brokers: number;
    broker: Record<string, number | boolean>;
    topics: { partitions: number; replicas: number; config: Record<string, number | boolean> };
  };
  redis: { masters: number; replicasPerMaster: number; config: Record<string, string | number> };
}

export function clusterSettings(): ClusterSettings {
  return JSON.parse(readRepoFile('deploy/cluster-settings.json')) as ClusterSettings;
}

/** One YAML file with anchors and `<<` merge keys resolved. */
export function readYaml<T = unknown>(path: string): T {
  return parse(readRepoFile(path), { merge: true }) as T;
}

/** Every document of a multi-document YAML file. */
export function readYamlDocuments<T = unknown>(path: string): T[] {
  return parseAllDocuments(readRepoFile(path)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message}`);
    return doc.toJS() as T;
  });
}

/** `name value` lines of a redis.conf, comments dropped. */
export function redisConf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [name, ...rest] = line.split(/\s+/);
    if (name) out.set(name, rest.join(' '));
  }
  return out;
}

/** `host:port` pairs of a KAFKA_BROKERS or REDIS_URL value. */
export function hostPorts(value: string): { host: string; port: number }[] {
  const list = value.replace(/^[a-z+]+:\/\//, '');
  return list.split(',').map((hp) => {
    const i = hp.lastIndexOf(':');
    return { host: hp.slice(0, i), port: Number(hp.slice(i + 1).split('/')[0]) };
  });
}
