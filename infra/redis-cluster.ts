import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { PlayPulseError } from '../lib/errors.ts';
import { createLogger } from '../lib/log.ts';
import { freePortPair } from './ports.ts';
import { startRedisServer, withoutFakeTime, type LocalRedis } from './redis-server.ts';
import { requireTool } from './tools.ts';
import { sleep } from '../lib/time.ts';

const log = createLogger('stack');

/** Redis Cluster nodes listen for the cluster bus on their port + 10000. */
const BUS_PORT_OFFSET = 10_000;
const CLUSTER_READY_TIMEOUT_MS = 30_000;

export interface LocalRedisCluster {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,...` as lib/redis.ts takes it. */
  readonly url: string;
  readonly nodes: readonly LocalRedis[];
  stop(): Promise<void>;
}

/**
 * Starts a local Redis Cluster of `nodes` masters (no replicas) from
 * `redis-server --cluster-enabled yes` on free ports, joins them with
 * `redis-cli --cluster create`, and resolves once every node reports cluster_state:ok.
 * Every node lives at most as long as this process; `stop()` ends them all.
 */
export async function startRedisCluster(nodes = 3): Promise<LocalRedisCluster> {
  if (!Number.isInteger(nodes) || nodes < 3) throw new RangeError('a Redis Cluster needs at least 3 masters');
  const redisCli = requireTool('redis-cli', 'install redis-tools (redis-cli; e.g. apt-get install redis-server redis-tools)');
  requireTool('redis-server', 'install redis-server (e.g. apt-get install redis-server)');
  const t0 = Date.now();
  const baseDir = mkdtempSync(join(tmpdir(), 'playpulse-redis-cluster-'));
  const started: LocalRedis[] = [];
  const stop = async () => {
    await Promise.all(started.map((n) => n.stop()));
    rmSync(baseDir, { recursive: true, force: true });
  };
  try {
    const taken = new Set<number>();
    for (let i = 0; i < nodes; i++) {
      const port = await freePortPair(BUS_PORT_OFFSET, taken);
      taken.add(port).add(port + BUS_PORT_OFFSET);
      const dataDir = mkdtempSync(join(baseDir, `node-${port}-`));
      started.push(
        await startRedisServer({
          port,
          dataDir,
          extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dataDir, 'nodes.conf'), '--cluster-node-timeout', '5000'],
        }),
      );
    }
    const addresses = started.map((n) => `127.0.0.1:${n.port}`);
    await run(redisCli, ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
    await waitForClusterOk(started.map((n) => n.port));
    const url = `redis+cluster://${addresses.join(',')}`;
    log.info({ url, ms: Date.now() - t0 }, 'started a local Redis Cluster');
    return { url, nodes: started, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitForClusterOk(ports: readonly number[]): Promise<void> {
  const deadline = Date.now() + CLUSTER_READY_TIMEOUT_MS;
  const clients = ports.map((port) => new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, lazyConnect: true }));
  try {
    for (const c of clients) c.on('error', () => undefined);
    await Promise.all(clients.map((c) => c.connect()));
    while (Date.now() < deadline) {
      const infos = await Promise.all(clients.map((c) => c.cluster('INFO')));
      if (infos.every((info) => /cluster_state:ok/.test(info) && /cluster_slots_assigned:16384/.test(info))) return;
      await sleep(100);
    }
  } finally {
    for (const c of clients) c.disconnect();
  }
  throw new PlayPulseError('STACK_UNAVAILABLE', `the local Redis Cluster on ports ${ports.join(',')} did not reach cluster_state:ok within ${CLUSTER_READY_TIMEOUT_MS} ms`);
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: withoutFakeTime(process.env) });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output = (output + c.toString('utf8')).slice(-4_000)));
    child.stderr.on('data', (c: Buffer) => (output = (output + c.toString('utf8')).slice(-4_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new PlayPulseError('STACK_UNAVAILABLE', `could not run ${cmd}: ${err.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new PlayPulseError('STACK_UNAVAILABLE', `${cmd} ${args.slice(0, 2).join(' ')} failed (exit ${code}):\n${output.trim()}`));
    });
  });
}
