import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logLevel, type Admin } from 'kafkajs';
import { createKafka } from '../lib/kafka.ts';
import { PlayPulseError } from '../lib/errors.ts';
import { createLogger } from '../lib/log.ts';
import type { GuardedProcess } from './guarded-process.ts';
import { launchKafkaNode, waitForKafkaNode, warmUpKafka, type KafkaBrokerOptions, type KafkaNodeSpec } from './kafka-broker.ts';
import { KAFKA_VERSION } from './kafka-jars.ts';
import { clusterBrokerSettings, type KafkaClusterSettings } from './kafka-properties.ts';
import { freePort } from './ports.ts';
import { sleep } from '../lib/time.ts';

const log = createLogger('stack');

const CLUSTER_READY_TIMEOUT_MS = 120_000;

/** One node of a local cluster. */
export interface LocalKafkaNode {
  readonly nodeId: number;
  /** `127.0.0.1:<port>` of its client listener. */
  readonly address: string;
  readonly dataDir: string;
  /** True while its JVM runs. */
  alive(): boolean;
}

/** Where a partition lives right now, as the cluster's metadata says. */
export interface PartitionPlacement {
  readonly partition: number;
  /** node id of the leader; -1 while there is none. */
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

export interface LocalKafkaCluster {
  /** Client addresses of every node (KAFKA_BROKERS). */
  readonly brokers: string[];
  readonly version: string;
  readonly nodes: readonly LocalKafkaNode[];
  /** The Kafka settings of deploy/cluster-settings.json the nodes run. */
  readonly settings: KafkaClusterSettings;
  /** Leader, replicas and in-sync replicas of every partition of `topic`. */
  placement(topic: string): Promise<PartitionPlacement[]>;
  /** node id of the leader of `topic`/`partition` (-1 while there is none). */
  leaderOf(topic: string, partition: number): Promise<number>;
  /**
   * SIGKILL the JVM of node `nodeId` (a crash: no shutdown, no flush beyond what the OS
   * had); resolves once it is gone. Its data stays for `restart`.
   */
  kill(nodeId: number): Promise<void>;
  /** Starts node `nodeId` again on its ports from its data; resolves once it answers. */
  restart(nodeId: number): Promise<void>;
  /** Stops every node and removes their folders. */
  stop(): Promise<void>;
}

export interface KafkaClusterOptions extends Pick<KafkaBrokerOptions, 'heapMb' | 'quickStart' | 'version'> {
  /** Settings file; default deploy/cluster-settings.json. */
  settingsFile?: string;
}

interface NodeState {
  spec: KafkaNodeSpec;
  port: number;
  proc: GuardedProcess;
}

/**
 * Starts a local Apache Kafka cluster in KRaft mode on 127.0.0.1: as many nodes as
 * deploy/cluster-settings.json names (3), each a combined broker+controller in its own JVM
 * with its own ports and data folder, all voters of one controller quorum and formatted
 * with one cluster id, running the broker settings of that file (replication 3,
 * min.insync.replicas 2, no unclean leader election, internal topics replicated 3 times).
 * Resolves once every node answers and the cluster has all its brokers. Every node lives at
 * most as long as this process (infra/watchdog.sh).
 */
export async function startKafkaCluster(options: KafkaClusterOptions = {}): Promise<LocalKafkaCluster> {
  const version = options.version ?? KAFKA_VERSION;
  const settings = clusterBrokerSettings(options.settingsFile);
  const t0 = Date.now();
  const baseDir = mkdtempSync(join(tmpdir(), 'playpulse-kafka-cluster-'));
  const ports: { nodeId: number; port: number; controllerPort: number }[] = [];
  const taken = new Set<number>();
  const pick = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  for (let nodeId = 1; nodeId <= settings.brokers; nodeId++) ports.push({ nodeId, port: await pick(), controllerPort: await pick() });
  const voters = ports.map((n) => `${n.nodeId}@127.0.0.1:${n.controllerPort}`).join(',');
  const nodeOptions: KafkaBrokerOptions = { version, heapMb: options.heapMb ?? 384, quickStart: options.quickStart ?? false };
  const states = new Map<number, NodeState>();
  const stopAll = async () => {
    await Promise.all([...states.values()].map((s) => s.proc.stop()));
    rmSync(baseDir, { recursive: true, force: true });
  };

  const launch = async (spec: KafkaNodeSpec, port: number): Promise<NodeState> => {
    const state = { spec, port, proc: await launchKafkaNode(spec, nodeOptions) };
    states.set(spec.nodeId ?? 1, state);
    return state;
  };
  const ready = (s: NodeState) => waitForKafkaNode(s.port, s.proc.alive, s.spec.dataDir);

  try {
    const launched = await Promise.all(
      ports.map((n) => {
        const dataDir = join(baseDir, `node-${n.nodeId}`);
        mkdirSync(dataDir);
        return launch({ nodeId: n.nodeId, port: n.port, controllerPort: n.controllerPort, voters, durability: settings.broker, dataDir }, n.port);
      }),
    );
    await Promise.all(launched.map(ready));
    const brokers = ports.map((n) => `127.0.0.1:${n.port}`);
    await waitForBrokers(brokers, settings.brokers);
    await warmUpKafka(brokers);
    log.info({ brokers, version, voters, ms: Date.now() - t0 }, `started a local Kafka cluster (KRaft, ${settings.brokers} nodes)`);
  } catch (err) {
    await stopAll();
    throw err;
  }

  const brokers = ports.map((n) => `127.0.0.1:${n.port}`);
  const stateOf = (nodeId: number): NodeState => {
    const s = states.get(nodeId);
    if (!s) throw new RangeError(`no node ${nodeId} in this cluster (nodes ${[...states.keys()].join(', ')})`);
    return s;
  };
  const withAdmin = async <T>(fn: (admin: Admin) => Promise<T>): Promise<T> => {
    const admin = createKafka(brokers, 'playpulse-cluster-tools', { logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } }).admin();
    await admin.connect();
    try {
      return await fn(admin);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };
  const placement = (topic: string) =>
    withAdmin(async (admin) => {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      const partitions = meta.topics[0]?.partitions ?? [];
      return partitions
        .map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: [...p.replicas], isr: [...p.isr] }))
        .sort((a, b) => a.partition - b.partition);
    });
  let stopping: Promise<void> | null = null;

  return {
    brokers,
    version,
    settings,
    nodes: ports.map((n) => ({
      nodeId: n.nodeId,
      address: `127.0.0.1:${n.port}`,
      dataDir: join(baseDir, `node-${n.nodeId}`),
      alive: () => stateOf(n.nodeId).proc.alive(),
    })),
    placement,
    leaderOf: async (topic, partition) => {
      const p = (await placement(topic)).find((x) => x.partition === partition);
      if (!p) throw new RangeError(`${topic} has no partition ${partition}`);
      return p.leader;
    },
    kill: async (nodeId) => {
      const s = stateOf(nodeId);
      // programmer error: fault injection asked to kill a node it stopped itself
      if (!s.proc.signalService('SIGKILL')) throw new Error(`node ${nodeId} is not running`);
      // The watchdog does not hold this process's event loop; this wait does.
      const hold = setInterval(() => undefined, 1_000);
      await s.proc.exited.finally(() => clearInterval(hold));
      log.info({ nodeId }, 'killed a Kafka node (SIGKILL)');
    },
    restart: async (nodeId) => {
      const s = stateOf(nodeId);
      // programmer error: fault injection asked to restart a node that still runs
      if (s.proc.alive()) throw new Error(`node ${nodeId} is still running`);
      const t = Date.now();
      await ready(await launch(s.spec, s.port));
      log.info({ nodeId, ms: Date.now() - t }, 'restarted a Kafka node');
    },
    stop: () => (stopping ??= stopAll()),
  };
}

/** Resolves once the cluster's metadata lists `count` brokers. */
async function waitForBrokers(brokers: string[], count: number): Promise<void> {
  const admin = createKafka(brokers, 'playpulse-cluster-probe', { logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  const deadline = Date.now() + CLUSTER_READY_TIMEOUT_MS;
  let seen = 0;
  try {
    await admin.connect();
    while (Date.now() < deadline) {
      try {
        seen = (await admin.describeCluster()).brokers.length;
        if (seen >= count) return;
      } catch {
        // a node still joining
      }
      await sleep(200);
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  throw new PlayPulseError('STACK_UNAVAILABLE', `the local Kafka cluster at ${brokers.join(',')} has ${seen} of ${count} brokers after ${CLUSTER_READY_TIMEOUT_MS} ms`);
}
