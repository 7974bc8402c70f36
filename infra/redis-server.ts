import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { PlayPulseError } from '../lib/errors.ts';
import { createLogger } from '../lib/log.ts';
import { startGuarded, type GuardedProcess } from './guarded-process.ts';
import { freePort, isPortOpen } from './ports.ts';
import { requireTool } from './tools.ts';
import { sleep } from '../lib/time.ts';

const log = createLogger('stack');

export const REDIS_INSTALL = 'install redis-server (e.g. apt-get install redis-server), or set REDIS_URL to a running Redis';
const READY_TIMEOUT_MS = 20_000;

export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** 0 or undefined: a free port. */
  port?: number;
  /** Extra `redis-server` arguments (e.g. cluster mode). */
  extraArgs?: readonly string[];
  /** Where data files go; a fresh temporary folder (removed on stop) when undefined. */
  dataDir?: string;
}

/**
 * Starts `redis-server` from PATH on 127.0.0.1 with no persistence (no RDB, no AOF), its
 * files in a temporary folder. Resolves once it answers PING. It lives at most as long as
 * this process (infra/watchdog.sh); `stop()` ends it and removes its folder.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<LocalRedis> {
  const redisServer = requireTool('redis-server', REDIS_INSTALL);
  const t0 = Date.now();
  const port = options.port ? options.port : await freePort();
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'playpulse-redis-'));
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dataDir,
    '--daemonize', 'no',
    '--protected-mode', 'yes',
    '--logfile', '',
    ...(options.extraArgs ?? []),
  ];
  const proc = startGuarded(redisServer, args, { logFile: join(dataDir, 'redis.log'), removeDirOnExit: dataDir, graceSec: 5, cwd: dataDir, env: withoutFakeTime(process.env) });
  try {
    await waitForPing(port, proc, dataDir);
  } catch (err) {
    await proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const url = `redis://127.0.0.1:${port}`;
  log.debug({ url, pid: proc.pid, ms: Date.now() - t0 }, 'started redis-server');
  return { url, port, dataDir, pid: proc.pid, stop: proc.stop };
}

/**
 * The environment without libfaketime in LD_PRELOAD: redis-server (built with jemalloc) does
 * not start under it. The clock-shifted test run (.ci/run) thus moves every process's clock
 * but Redis', which keeps the true one: a year of skew between the app and Redis, which every
 * expiry must survive (they follow the Redis server clock).
 */
export function withoutFakeTime(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const preload = env.LD_PRELOAD;
  if (!preload || !preload.includes('faketime')) return env;
  const kept = preload.split(/[:\s]+/).filter((lib) => lib !== '' && !lib.includes('faketime'));
  const out = { ...env };
  if (kept.length > 0) out.LD_PRELOAD = kept.join(':');
  else delete out.LD_PRELOAD;
  return out;
}

async function waitForPing(port: number, proc: GuardedProcess, dataDir: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!proc.alive()) {
      throw new PlayPulseError('STACK_UNAVAILABLE', `redis-server exited during start-up on port ${port}:\n${tail(join(dataDir, 'redis.log'))}`);
    }
    if (await isPortOpen('127.0.0.1', port, 200)) {
      const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        if ((await client.ping()) === 'PONG') return;
      } catch {
        await sleep(50);
      } finally {
        client.disconnect();
      }
    }
    await sleep(50);
  }
  throw new PlayPulseError('STACK_UNAVAILABLE', `redis-server did not answer on port ${port} within ${READY_TIMEOUT_MS} ms:\n${tail(join(dataDir, 'redis.log'))}`);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-8).join('\n');
  } catch {
    return '(no output)';
  }
}
