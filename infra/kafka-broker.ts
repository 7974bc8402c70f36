import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logLevel } from 'kafkajs';
import { assertKafkaReachable, createKafka } from '../lib/kafka.ts';
import { PlayPulseError } from '../lib/errors.ts';
import { createLogger } from '../lib/log.ts';
import { startGuarded, type GuardedProcess } from './guarded-process.ts';
import { classArchivePath, keepClassArchive, useClassArchive } from './jvm-archive.ts';
import { KAFKA_VERSION, ensureKafkaJars, kafkaCacheDir } from './kafka-jars.ts';
import { KAFKA_LOG4J_CONFIG, serverProperties, type KafkaNodeAddress } from './kafka-properties.ts';
import { formatNodeStorage } from './kafka-storage.ts';
import { freePort, isPortOpen } from './ports.ts';
import { requireJava } from './tools.ts';
import { sleep } from '../lib/time.ts';

const log = createLogger('stack');

const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_SEC = 20;
/** Writing the class archive at exit takes a while on a busy machine. */
const ARCHIVE_STOP_GRACE_SEC = 120;
/** Exit status of a JVM that had to be killed: its class archive may be half-written. */
const KILLED_STATUS = 128 + 9;

export interface KafkaBrokerOptions {
  version?: string;
  /** Client port on 127.0.0.1; 0 picks a free one. */
  port?: number;
  heapMb?: number;
  /**
   * C1 only (`-XX:TieredStopAtLevel=1`): a start takes about a third less CPU, peak
   * throughput is lower. For test runs; never for benchmarks.
   */
  quickStart?: boolean;
  /** Write a class-data archive of this JVM to this file when it stops (see infra/jvm-archive.ts). */
  writeClassArchive?: string;
}

export interface LocalKafka {
  readonly brokers: string[];
  readonly version: string;
  /** Temporary folder of this broker (data, server.properties, server.log); removed on stop. */
  readonly dataDir: string;
  /** pid of the watchdog that owns the broker's JVM (infra/watchdog.sh). */
  readonly pid: number;
  /** Exit status of the broker JVM (128 + signal when a signal ended it), once it is gone. */
  readonly exited: Promise<number | string>;
  stop(): Promise<void>;
}

/**
 * Starts a single-node Apache Kafka broker in KRaft mode (broker and controller in one JVM)
 * on 127.0.0.1, from the cached jars, with fresh storage in a temporary folder. Resolves
 * once the broker answers a metadata request. The broker lives at most as long as this
 * process (infra/watchdog.sh); `stop()` shuts it down cleanly and removes its folder.
 */
export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<LocalKafka> {
  const version = options.version ?? KAFKA_VERSION;
  const t0 = Date.now();
  const port = options.port === 0 || options.port === undefined ? await freePort() : options.port;
  const controllerPort = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'playpulse-kafka-'));
  let proc: GuardedProcess;
  try {
    proc = await launchKafkaNode({ port, controllerPort, dataDir }, options);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const brokers = [`127.0.0.1:${port}`];
  let answeredMs = 0;
  try {
    await waitForKafkaNode(port, proc.alive, dataDir);
    answeredMs = Date.now() - t0;
    await warmUpKafka(brokers);
  } catch (err) {
    await proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  log.info({ brokers, version, pid: proc.pid, dataDir, answeredMs, ms: Date.now() - t0 }, 'started a local Kafka broker (KRaft, single node)');
  return { brokers, version, dataDir, pid: proc.pid, exited: proc.exited, stop: proc.stop };
}

/** One KRaft node (broker and controller in one JVM) as `launchKafkaNode` starts it. */
export interface KafkaNodeSpec extends Omit<KafkaNodeAddress, 'logDir'> {
  /** Folder of the node: server.properties, logs, and its storage in `data/`. */
  dataDir: string;
}

/**
 * Starts the JVM of one KRaft node under the watchdog, from the cached jars: writes its
 * server.properties into `spec.dataDir` and, when the folder holds no storage yet, formats it
 * (a restarted node keeps its data). Does not wait for it to answer (`waitForKafkaNode`). The
 * watchdog removes the folder when the node is stopped through it, not when it dies.
 */
export async function launchKafkaNode(spec: KafkaNodeSpec, options: KafkaBrokerOptions = {}): Promise<GuardedProcess> {
  const version = options.version ?? KAFKA_VERSION;
  const { java, build } = requireJava();
  const libs = await ensureKafkaJars(version);
  const logDir = join(spec.dataDir, 'data');
  const propertiesFile = join(spec.dataDir, 'server.properties');
  writeFileSync(propertiesFile, serverProperties({ ...spec, logDir }));
  if (!existsSync(join(logDir, 'meta.properties'))) await formatNodeStorage(java, libs, version, logDir, spec.nodeId ?? 1);
  const archiveArgs = options.writeClassArchive
    ? [`-XX:ArchiveClassesAtExit=${options.writeClassArchive}`]
    : useClassArchive(kafkaCacheDir(version), build);
  return startGuarded(java, [...archiveArgs, ...jvmArgs(options, spec.dataDir), '-cp', join(libs, '*'), 'kafka.Kafka', propertiesFile], {
    logFile: join(spec.dataDir, 'stdout.log'),
    removeDirOnExit: spec.dataDir,
    graceSec: options.writeClassArchive ? ARCHIVE_STOP_GRACE_SEC : STOP_GRACE_SEC,
    cwd: spec.dataDir,
  });
}

/** True when the class-data archive for this JVM build exists. */
export function hasClassArchive(version: string = KAFKA_VERSION): boolean {
  return existsSync(classArchivePath(kafkaCacheDir(version), requireJava().build));
}

/**
 * Makes the class-data archive of the broker JVM for this JVM build, once: starts a broker
 * that loads what a broker loads (start-up, warm-up: producer ids, group coordinator),
 * stops it, keeps the archive it wrote. Returns the archive's path.
 */
export async function buildClassArchive(version: string = KAFKA_VERSION): Promise<{ path: string; built: boolean }> {
  const { build } = requireJava();
  const dir = kafkaCacheDir(version);
  const path = classArchivePath(dir, build);
  if (existsSync(path)) return { path, built: false };
  await ensureKafkaJars(version);
  const written = `${path}.${process.pid}.tmp`;
  const broker = await startKafkaBroker({ version, port: 0, writeClassArchive: written });
  await broker.stop();
  const killed = (await broker.exited) === KILLED_STATUS;
  const built = !killed && keepClassArchive(written, dir, build);
  rmSync(written, { force: true });
  return { path, built };
}

function jvmArgs(options: KafkaBrokerOptions, dataDir: string): string[] {
  const heapMb = options.heapMb ?? 512;
  return [
    ...(options.quickStart ? ['-XX:TieredStopAtLevel=1'] : []),
    `-Xms${Math.min(256, heapMb)}m`,
    `-Xmx${heapMb}m`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${KAFKA_LOG4J_CONFIG}`,
    `-Dkafka.logs.dir=${dataDir}`,
  ];
}

/**
 * Resolves once the node listening on `port` answers a metadata request; fails with
 * STACK_UNAVAILABLE (and the tail of its log) when it exits or does not answer in time.
 */
export async function waitForKafkaNode(port: number, alive: () => boolean, dataDir: string): Promise<void> {
  const brokers = [`127.0.0.1:${port}`];
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!alive()) {
      throw new PlayPulseError('STACK_UNAVAILABLE', `the local Kafka broker exited during start-up on port ${port}:\n${logTail(dataDir)}`);
    }
    if (await isPortOpen('127.0.0.1', port, 200)) {
      try {
        await assertKafkaReachable(brokers, 2_000);
        return;
      } catch {
        continue;
      }
    }
    await sleep(100);
  }
  throw new PlayPulseError('STACK_UNAVAILABLE', `the local Kafka broker did not answer on port ${port} within ${READY_TIMEOUT_MS} ms:\n${logTail(dataDir)}`);
}

/**
 * Makes a fresh broker ready for the first client: allocates its first producer-id block
 * (InitProducerId of an idempotent producer) and creates `__consumer_offsets` (group
 * coordinator lookup), which otherwise greet the first producer and consumer group with
 * retriable "coordinator loading / not available" errors.
 */
export async function warmUpKafka(brokers: readonly string[]): Promise<void> {
  const kafka = createKafka(brokers, 'playpulse-warm-up', { logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const admin = kafka.admin();
  try {
    await Promise.all([producer.connect(), admin.connect()]);
    await admin.describeGroups(['playpulse-warm-up']);
  } finally {
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  }
}

/** The last lines of the broker's own output and log, for start-up failures. */
function logTail(dataDir: string): string {
  const parts: string[] = [];
  for (const file of ['stdout.log', 'server.log']) {
    try {
      const lines = readFileSync(join(dataDir, file), 'utf8').trim().split('\n');
      const interesting = lines.filter((l) => /ERROR|FATAL|Exception|Address already in use/.test(l)).slice(-8);
      parts.push(...(interesting.length > 0 ? interesting : lines.slice(-5)));
    } catch {
      continue;
    }
  }
  return parts.length > 0 ? parts.join('\n') : '(no broker output)';
}
