/**
 * The Dockerfile cannot be built here (no Docker engine), so it is read and held to the
 * code: its stages, its user, the ports it exposes, the roles its entrypoint takes, the
 * files the entry point really imports, and the health check, which is run for real
 * against a health server of lib/health.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRoles, ROLES } from '../../bin/roles.ts';
import { Health, serveHealth } from '../../lib/health.ts';
import { DEFAULT_EDGE_PORT, DEFAULT_HEALTH_PORT, HEALTH_PATH, healthUrls, isHealthy } from '../../deploy/docker/healthcheck.mjs';
import { loadConfig } from '../../lib/config.ts';
import { PlayPulseError } from '../../lib/errors.ts';
import { configVariables, defaultConfig, healthStatus, imageEnv, readRepoFile, REPO, STAND_IN_SECRET } from './deploy-support.ts';

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** Stages of a Dockerfile: continuation lines joined, comments dropped, global ARGs substituted. */
function parseDockerfile(text: string): Stage[] {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const op = (m[1] ?? '').toUpperCase();
    const args = m[2] ?? '';
    if (op === 'ARG' && stages.length === 0) {
      const [k, v] = args.split('=');
      if (k) globalArgs.set(k.trim(), (v ?? '').trim());
      continue;
    }
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`bad FROM: ${args}`);
      const from = (f[1] ?? '').replace(/\$\{(\w+)\}/g, (_, k: string) => globalArgs.get(k) ?? '');
      stages.push({ name: f[2] ?? String(stages.length), from, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${op} before FROM`);
    stage.instructions.push({ op, args });
  }
  return stages;
}

function jsonArgs(i: Instruction | undefined): string[] {
  if (!i) throw new Error('instruction missing');
  const v: unknown = JSON.parse(i.args);
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new Error(`not exec form: ${i.args}`);
  return v as string[];
}

function only(stage: Stage, op: string): Instruction[] {
  return stage.instructions.filter((i) => i.op === op);
}

/** Repo-relative files reachable from `entry` through relative static and dynamic imports. */
function importClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const queue = [join(REPO, entry)];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    const rel = relative(REPO, file);
    if (seen.has(rel)) continue;
    seen.add(rel);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = join(dirname(file), m[1] as string);
      if (existsSync(target) && /\.(ts|js|mjs|json)$/.test(target)) queue.push(target);
    }
  }
  return seen;
}

const stages = parseDockerfile(readRepoFile('Dockerfile'));
const runtime = stages.at(-1) as Stage;
const config = defaultConfig();

describe('Dockerfile stages', () => {
  it('builds with dev dependencies, installs production ones apart, runs from a runtime stage', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'prod-deps', 'runtime']);
    const run = (s: Stage) => only(s, 'RUN').map((i) => i.args).join('\n');
    const build = stages[0] as Stage;
    const prod = stages[1] as Stage;
    expect(run(build)).toMatch(/npm ci(?![^\n]*--omit=dev)/);
    expect(run(build)).toContain('npm run build');
    expect(run(prod)).toMatch(/npm ci [^\n]*--omit=dev/);
    expect(run(runtime)).not.toMatch(/npm (ci|install)/);
  });

  it('all stages share one pinned Node 20 base', () => {
    const bases = new Set(stages.map((s) => s.from));
    expect(bases.size).toBe(1);
    expect([...bases][0]).toMatch(/^node:20\.\d+(-[a-z]+)*(-slim)?$/);
  });

  it('the runtime takes node_modules from the production install only, and that install has tsx and esbuild', () => {
    const copies = only(runtime, 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=prod-deps /app/node_modules ./node_modules');
    expect(copies.filter((c) => c.includes('node_modules'))).toHaveLength(1);
    const pkg = JSON.parse(readRepoFile('package.json')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies.tsx).toBeDefined();
    // offers/console/build.ts imports esbuild when it loads, so every role needs it at run time.
    expect(readRepoFile('offers/console/build.ts')).toMatch(/from 'esbuild'/);
    const lock = JSON.parse(readRepoFile('package-lock.json')) as { packages: Record<string, { dev?: boolean }> };
    for (const p of ['node_modules/tsx', 'node_modules/esbuild']) {
      expect(lock.packages[p], p).toBeDefined();
      expect(lock.packages[p]?.dev, `${p} is installed by npm ci --omit=dev`).not.toBe(true);
    }
  });

  it('the runtime holds every source folder the entry point imports, and the prebuilt console', () => {
    const copied = only(runtime, 'COPY')
      .filter((i) => i.args.startsWith('--from=build'))
      .flatMap((i) => i.args.split(/\s+/).filter((a) => !a.startsWith('--')).slice(0, -1))
      .map((p) => p.replace(/^\/app\//, ''));
    const needed = new Set([...importClosure('bin/start.ts')].map((f) => f.split('/')[0] as string));
    needed.delete('bin');
    for (const dir of needed) {
      if (dir.endsWith('.json')) continue;
      expect(copied, `runtime misses ${dir}/`).toContain(dir);
    }
    expect(copied).toEqual(expect.arrayContaining(['bin', 'package.json', 'dist']));
    expect(existsSync(join(REPO, 'bin/start.ts'))).toBe(true);
  });

  it('.dockerignore keeps out nothing the build needs', () => {
    const ignored = readRepoFile('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    for (const p of ['node_modules', '.git', 'dist']) expect(ignored).toContain(p);
    const needed = ['package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'lib', 'protocol', 'edge', 'processors', 'offers', 'infra', 'deploy/docker'];
    for (const n of needed) expect(ignored.some((i) => n === i || n.startsWith(`${i}/`)), `${n} is ignored`).toBe(false);
  });
});

describe('Dockerfile runtime', () => {
  it('runs as a numeric non-root user', () => {
    const users = only(runtime, 'USER').map((i) => i.args.trim());
    expect(users).toHaveLength(1);
    const [uid, gid] = (users[0] as string).split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    if (gid !== undefined) expect(Number(gid)).toBeGreaterThan(0);
  });

  it('exposes exactly the ports the config defaults to', () => {
    const exposed = only(runtime, 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map(Number);
    expect(exposed.sort()).toEqual([config.edgePort, config.adminPort, config.healthPort].sort());
  });

  it('tini is PID 1 and execs the same start script as `npm start`; the role is the argument', () => {
    const entry = jsonArgs(only(runtime, 'ENTRYPOINT')[0]);
    expect(entry.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    const pkg = JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> };
    expect(entry.slice(2).join(' ')).toBe(pkg.scripts.start);
    expect(only(runtime, 'RUN').map((i) => i.args).join('\n')).toMatch(/apt-get install[^\n]*\btini\b/);
    const cmd = jsonArgs(only(runtime, 'CMD')[0]);
    expect(cmd[0]).toBe('--role');
    expect(parseRoles(cmd[1] as string)).toEqual(['edge']);
    for (const role of ROLES) expect(parseRoles(role)).toEqual([role]);
    expect(readRepoFile('bin/start.ts')).toMatch(/installSignalHandlers\(\)/);
    const stop = only(runtime, 'STOPSIGNAL').map((i) => i.args.trim());
    expect(stop).toEqual(['SIGTERM']);
  });

  it('sets only variables lib/config.ts or Node know', () => {
    const known = configVariables();
    const names = only(runtime, 'ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=/g)].map((m) => m[1] as string));
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(known.has(n) || n === 'NODE_ENV', `${n} is unknown`).toBe(true);
  });

  it('runs in production mode: refuses to start without its own secrets', () => {
    expect(imageEnv()).toMatchObject({ NODE_ENV: 'production', PLAYPULSE_ENV: 'production' });
    expect(() => loadConfig(imageEnv())).toThrow(PlayPulseError);
    expect(() => loadConfig(imageEnv())).toThrow(/PLAYPULSE_AUTH_SECRET[\s\S]*PLAYPULSE_ADMIN_TOKEN/);
    const config = loadConfig({ ...imageEnv(), PLAYPULSE_AUTH_SECRET: STAND_IN_SECRET, PLAYPULSE_ADMIN_TOKEN: STAND_IN_SECRET });
    expect(config.production).toBe(true);
  });
});

describe('HEALTHCHECK', () => {
  let health: Awaited<ReturnType<typeof serveHealth>>;
  let closedPort = 0;
  beforeAll(async () => {
    health = await serveHealth(new Health(), 0, '127.0.0.1');
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
  });
  afterAll(() => new Promise<void>((r) => health.server.close(() => r())));

  it('runs the health script shipped in the image', () => {
    const hc = only(runtime, 'HEALTHCHECK')[0];
    expect(hc).toBeDefined();
    const cmd = JSON.parse((hc as Instruction).args.replace(/^.*?\bCMD\s+/, '')) as string[];
    expect(cmd).toEqual(['node', 'deploy/docker/healthcheck.mjs']);
    expect(only(runtime, 'COPY').some((i) => i.args.includes('deploy/docker/healthcheck.mjs'))).toBe(true);
  });

  it('asks the path and the default ports the code serves', async () => {
    expect(DEFAULT_EDGE_PORT).toBe(config.edgePort);
    expect(DEFAULT_HEALTH_PORT).toBe(config.healthPort);
    expect(await healthStatus(HEALTH_PATH)).toBe(200);
    expect(healthUrls({})).toEqual([`http://127.0.0.1:${config.edgePort}${HEALTH_PATH}`, `http://127.0.0.1:${config.healthPort}${HEALTH_PATH}`]);
  });

  it('is healthy when the role health server answers on HEALTH_PORT, unhealthy when nothing does', async () => {
    expect(await isHealthy(healthUrls({ EDGE_PORT: String(closedPort), HEALTH_PORT: String(health.port) }))).toBe(true);
    expect(await isHealthy(healthUrls({ EDGE_PORT: String(closedPort), HEALTH_PORT: String(closedPort) }))).toBe(false);
  });
});
