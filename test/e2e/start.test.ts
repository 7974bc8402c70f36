/**
 * `npm start` as a user runs it: the supervised process tree comes up against the test's
 * Kafka and Redis, serves the skeleton flow, and Ctrl-C (SIGINT) stops every process it
 * started with exit code 0. And a dead KAFKA_BROKERS address fails start-up fast, with a
 * message naming the address and no stack trace.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encode, decode } from '@msgpack/msgpack';
import { nodeFlagsFor } from '../../bin/node-flags.ts';
import { signPlayerToken } from '../../edge/auth.ts';
import { DEV_AUTH_SECRET, DEV_ADMIN_TOKEN } from '../../lib/config.ts';
import { createRedis } from '../../lib/redis.ts';
import { cleanupRedisPrefix, testServices, uniqueName } from '../helpers/stack.ts';
import { freePort } from '../../infra/ports.ts';
import { sleep } from '../../lib/time.ts';

const START = ['--import', 'tsx', 'bin/start.ts'];

/** Runs bin/start.ts in a process group of its own, as a terminal would. */
function run(env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, START, {
    env: { ...process.env, PLAYPULSE_LOG_PRETTY: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exit };
}

function descendants(pid: number): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const rows = out.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const result: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of rows) {
      if (parent !== p) continue;
      result.push(child);
      walk(child);
    }
  };
  walk(pid);
  return result;
}

/** The arguments a process was started with (Linux /proc); empty once it is gone. */
function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

const keyPrefix = uniqueName('t');
afterAll(async () => {
  const redis = createRedis(testServices().redisUrl, 'test-cleanup');
  await cleanupRedisPrefix(redis, keyPrefix);
  redis.disconnect();
});

describe('npm start', () => {
  it('runs the whole system, serves an event end to end, and stops every process on SIGINT', async () => {
    const { kafkaBrokers, redisUrl } = testServices();
    const [edgePort, adminPort, healthPort] = [await freePort(), await freePort(), await freePort()];
    const proc = run({
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      EDGE_PORT: String(edgePort),
      ADMIN_PORT: String(adminPort),
      HEALTH_PORT: String(healthPort),
      PLAYPULSE_KEY_PREFIX: keyPrefix,
      PLAYPULSE_TOPIC_PREFIX: `${uniqueName('start')}.`,
      PLAYPULSE_PARTITIONS: '2',
    });
    try {
      for (const port of [edgePort, healthPort]) {
        await waitFor(`readyz on ${port}`, async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined), 90_000);
      }
      const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
      expect(metrics).toContain('playpulse_process_');

      const player = uniqueName('p');
      const ws = new WebSocket(`ws://127.0.0.1:${edgePort}/v1/play?token=${await signPlayerToken(DEV_AUTH_SECRET, player, 600)}`);
      const frames: Record<string, unknown>[] = [];
      ws.on('message', (d: Buffer) => frames.push(decode(d) as Record<string, unknown>));
      await waitFor('hello', async () => (frames.some((f) => f.t === 'hello') ? true : undefined), 10_000);
      ws.send(encode({ t: 'ev', id: 'start-1', type: 'session.start' }));
      await waitFor('ack', async () => (frames.some((f) => f.t === 'ack') ? true : undefined), 10_000);
      expect(frames.find((f) => f.t === 'ack')).toEqual({ t: 'ack', ids: ['start-1'] });
      ws.close();

      const state = await waitFor(
        'events_total = 1 via the admin API',
        async () => {
          const res = await fetch(`http://127.0.0.1:${adminPort}/v1/players/${player}`, { headers: { authorization: `Bearer ${DEV_ADMIN_TOKEN}` } });
          const body = (await res.json()) as Record<string, unknown>;
          return JSON.stringify(body).includes('"events_total":1') ? body : undefined;
        },
        30_000,
      );
      expect(JSON.stringify(state)).toContain(player);

      const tree = descendants(proc.child.pid!);
      expect(tree.length).toBeGreaterThanOrEqual(2);
      // Each child runs with its roles' Node flags (bin/node-flags.ts).
      const commandLines = tree.map((pid) => commandLine(pid));
      const processorsChild = commandLines.find((args) => args.includes('processors,offers'));
      expect(processorsChild, commandLines.map((a) => a.join(' ')).join('\n')).toBeDefined();
      for (const flag of nodeFlagsFor(['processors', 'offers'])) expect(processorsChild).toContain(flag);
      const edgeChild = commandLines.find((args) => args[args.indexOf('--role') + 1] === 'edge');
      expect(edgeChild).toBeDefined();
      for (const flag of nodeFlagsFor(['processors']).filter((f) => !nodeFlagsFor(['edge']).includes(f))) expect(edgeChild).not.toContain(flag);
      // The banner follows its own /readyz polls (1 s timeout each, every 500 ms): on a loaded
      // machine it can come a little after the readiness this test saw, so it is awaited too.
      await waitFor('the ready banner', async () => (proc.output().includes('PlayPulse is ready.') ? true : undefined), 60_000);
      expect(proc.output()).toContain('PlayPulse is ready.');
      // Ctrl-C in a terminal: SIGINT to the whole foreground process group.
      process.kill(-proc.child.pid!, 'SIGINT');
      const code = await Promise.race([proc.exit, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 45_000))]);
      expect(code, proc.output().slice(-2000)).toBe(0);
      await waitFor('every started process to exit', async () => (tree.every((pid) => !alive(pid)) ? true : undefined), 10_000);
      expect(proc.output()).not.toContain('second signal');
      expect(proc.output()).toContain('edge stopped');
      expect(proc.output()).toContain('processors stopped');
    } finally {
      if (proc.child.exitCode === null) process.kill(-proc.child.pid!, 'SIGKILL');
    }
  });

  it('fails fast and clearly when KAFKA_BROKERS points at a port where nothing listens', async () => {
    const port = await freePort();
    const proc = run({ KAFKA_BROKERS: `127.0.0.1:${port}`, REDIS_URL: testServices().redisUrl, PLAYPULSE_KAFKA_CONNECT_TIMEOUT_MS: '3000' });
    const code = await Promise.race([proc.exit, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
    expect(code).toBe(1);
    expect(proc.output()).toContain(`Kafka is unreachable at 127.0.0.1:${port}`);
    expect(proc.output()).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
  });

  it('refuses a bad environment variable with a message naming it', async () => {
    const proc = run({ EDGE_PORT: 'ninety' });
    expect(await proc.exit).toBe(1);
    expect(proc.output()).toContain('EDGE_PORT');
  });
});
