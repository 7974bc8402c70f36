/** The machine a bench ran on, printed with every result: figures mean nothing without it. */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { createRedis } from '../../lib/redis.ts';

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly freeMemoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly kafka: string;
  readonly redis: string;
  /** Open-file limit (soft/hard) the harness and its children run with. */
  readonly openFilesLimit: { soft: number; hard: number };
  /** 1, 5 and 15 minute load averages when the run started: above `cores`, other work shared the CPUs. */
  readonly loadAvgAtStart: number[];
}

export async function describeMachine(kafkaVersion: string, redisUrl: string, openFilesLimit: { soft: number; hard: number }): Promise<Machine> {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    kafka: kafkaVersion === 'external' ? `external${localBrokerVersions()}` : kafkaVersion,
    redis: await redisVersion(redisUrl),
    openFilesLimit,
    loadAvgAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

async function redisVersion(url: string): Promise<string> {
  const client = createRedis(url, 'bench-probe', { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = await client.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  } finally {
    client.disconnect();
  }
}

/** Versions of Kafka brokers running on this machine, read from their class paths (` (local broker 4.x.y)`), or ''. */
function localBrokerVersions(): string {
  const versions = new Set<string>();
  try {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let cmd = '';
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (!cmd.includes('kafka.Kafka')) continue;
      const m = /kafka[_/-](?:2\.\d+-)?(\d+\.\d+\.\d+)/.exec(cmd);
      if (m?.[1]) versions.add(m[1]);
    }
  } catch {
    return '';
  }
  return versions.size > 0 ? ` (local brokers run ${[...versions].join(', ')})` : '';
}
