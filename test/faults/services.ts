/**
 * Dedicated Kafka brokers and Redis servers for the fault rows that stop a service, so the
 * shared services of the test run stay up. Started through infra/ (same binaries, same
 * settings as the local stack); `halt()` stops the service process itself with SIGTERM
 * (its data folder stays), `resume()` starts it again on the same port from the same data.
 * `kill()` is a crash instead: SIGKILL of the service process, its data folder as it was left.
 * `stop()` ends it for good and removes its folder.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafkaBroker } from '../../infra/kafka-broker.ts';
import { startRedisServer, type LocalRedis } from '../../infra/redis-server.ts';
import { startGuarded, type GuardedProcess } from '../../infra/guarded-process.ts';
import { isPortOpen } from '../../infra/ports.ts';
import { assertKafkaReachable } from '../../lib/kafka.ts';
import { sleep } from '../../lib/time.ts';

export interface StoppableService {
  /** SIGTERM the service process; resolves once its port is closed. */
  halt(): Promise<void>;
  /** Starts it again on the same port from the same data; resolves once it answers. */
  resume(): Promise<void>;
  /** SIGKILL the service process (a crash: nothing flushed, no clean shutdown); resolves once its port is closed. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** The pid of the only child of a watchdog (infra/watchdog.sh): the service itself. */
function serviceChildOf(watchdogPid: number): number {
  const children = readFileSync(`/proc/${watchdogPid}/task/${watchdogPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  for (const pid of children) {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmd.startsWith('/bin/sh')) return pid;
  }
  throw new Error(`no service process under watchdog ${watchdogPid}`);
}

/**
 * Waits until every thread of `pid` is stopped (state `T` in /proc). A SIGSTOP takes effect
 * as each thread is next scheduled: on a loaded machine a thread can still answer a request
 * in between.
 */
async function waitStopped(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const state = (task: string): string => {
    try {
      // The state follows the command name, which is in parentheses and may hold spaces.
      return readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8').replace(/^.*\) /s, '').charAt(0);
    } catch {
      return 'T'; // a thread that ended meanwhile answers nothing
    }
  };
  while (!readdirSync(`/proc/${pid}/task`).every((t) => state(t) === 'T')) {
    if (Date.now() > deadline) throw new Error(`process ${pid} not stopped ${timeoutMs} ms after SIGSTOP`);
    await sleep(10);
  }
}

async function waitPortClosed(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await isPortOpen('127.0.0.1', port, 200)) {
    if (Date.now() > deadline) throw new Error(`port ${port} still open after ${timeoutMs} ms`);
    await sleep(100);
  }
}

export interface DedicatedRedis extends StoppableService {
  readonly url: string;
  readonly port: number;
  /** The server's `--dir`: its AOF lives in `appendonlydir/` there. */
  readonly dataDir: string;
}

/** A redis-server with AOF on (`appendfsync` as given) in a folder of its own; `moreArgs` are appended to its arguments. */
export async function startDedicatedRedis(appendfsync: 'always' | 'everysec' = 'always', moreArgs: readonly string[] = []): Promise<DedicatedRedis> {
  const dataDir = mkdtempSync(join(tmpdir(), 'playpulse-fault-redis-'));
  const extraArgs = ['--appendonly', 'yes', '--appendfsync', appendfsync, '--maxmemory-policy', 'noeviction', ...moreArgs];
  let current: LocalRedis = await startRedisServer({ dataDir, extraArgs });
  const port = current.port;
  return {
    url: current.url,
    port,
    dataDir,
    halt: async () => {
      process.kill(serviceChildOf(current.pid), 'SIGTERM');
      await waitPortClosed(port, 20_000);
    },
    kill: async () => {
      process.kill(serviceChildOf(current.pid), 'SIGKILL');
      await waitPortClosed(port, 20_000);
    },
    resume: async () => {
      current = await startRedisServer({ port, dataDir, extraArgs });
    },
    stop: () => current.stop(),
  };
}

export interface DedicatedKafka extends StoppableService {
  readonly brokers: string[];
  /**
   * Stops the broker process with SIGSTOP: connections stay open and nothing answers.
   * Resolves once every thread of it is stopped, so nothing sent after it is answered.
   */
  freeze(): Promise<void>;
  /** SIGCONT: the broker goes on with whatever requests reached it meanwhile. */
  thaw(): void;
}

/** A single-node KRaft broker of its own (infra/kafka-broker.ts). */
export async function startDedicatedKafka(): Promise<DedicatedKafka> {
  const broker = await startKafkaBroker({ heapMb: 384 });
  const port = Number(broker.brokers[0]?.split(':')[1]);
  const jvm = serviceChildOf(broker.pid);
  const [command, ...args] = readFileSync(`/proc/${jvm}/cmdline`, 'utf8').split('\0').filter((s) => s.length > 0) as [string, ...string[]];
  let guarded: GuardedProcess | null = null;
  let watchdogPid = broker.pid;
  return {
    brokers: broker.brokers,
    halt: async () => {
      process.kill(serviceChildOf(watchdogPid), 'SIGTERM');
      await waitPortClosed(port, 60_000);
    },
    kill: async () => {
      process.kill(serviceChildOf(watchdogPid), 'SIGKILL');
      await waitPortClosed(port, 30_000);
    },
    resume: async () => {
      guarded = startGuarded(command, args, { logFile: join(broker.dataDir, 'stdout.log'), removeDirOnExit: broker.dataDir, graceSec: 20, cwd: broker.dataDir });
      watchdogPid = guarded.pid;
      await assertKafkaReachable(broker.brokers, 90_000);
    },
    freeze: async () => {
      const jvm = serviceChildOf(watchdogPid);
      process.kill(jvm, 'SIGSTOP');
      await waitStopped(jvm, 5_000);
    },
    thaw: () => process.kill(serviceChildOf(watchdogPid), 'SIGCONT'),
    stop: async () => {
      if (guarded) await guarded.stop();
      else await broker.stop();
    },
  };
}
