import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './kafka-jars.ts';
import { PlayPulseError } from '../lib/errors.ts';

/** log4j2 configuration of every JVM the local stack runs from the Kafka jars. */
export const KAFKA_LOG4J_CONFIG = join(REPO_ROOT, 'infra', 'kafka', 'log4j2.properties');

/** Broker settings as `server.properties` takes them. */
export type BrokerSettings = Readonly<Record<string, string | number | boolean>>;

/** Durability of a lone node: every internal topic has one replica, as one node can hold. */
const SINGLE_NODE_SETTINGS: BrokerSettings = {
  'default.replication.factor': 1,
  'min.insync.replicas': 1,
  'auto.create.topics.enable': false,
  'offsets.topic.replication.factor': 1,
  'transaction.state.log.replication.factor': 1,
  'transaction.state.log.min.isr': 1,
  'share.coordinator.state.topic.replication.factor': 1,
  'share.coordinator.state.topic.min.isr': 1,
};

/** Sizes and timings for a developer machine (few partitions, no rebalance delay). */
const LOCAL_TUNING: BrokerSettings = {
  'num.partitions': 1,
  'offsets.topic.num.partitions': 1,
  'transaction.state.log.num.partitions': 1,
  'share.coordinator.state.topic.num.partitions': 1,
  'group.initial.rebalance.delay.ms': 0,
  'num.network.threads': 2,
  'num.io.threads': 4,
  'log.segment.bytes': 67108864,
  'delete.topic.enable': true,
};

/** One combined broker+controller node of a KRaft quorum on 127.0.0.1. */
export interface KafkaNodeAddress {
  /** `node.id`; 1 for a single node. */
  nodeId?: number;
  port: number;
  controllerPort: number;
  logDir: string;
  /**
   * `controller.quorum.voters` (`id@host:port,...`); a single node votes alone.
   */
  voters?: string;
  /**
   * Durability settings replacing the single-node ones (a cluster passes those of
   * deploy/cluster-settings.json, see `clusterBrokerSettings`).
   */
  durability?: BrokerSettings;
}

/**
 * server.properties of a combined broker+controller node for local use: a single node by
 * default, or one voter of a local cluster when `voters` and `durability` are given.
 */
export function serverProperties(p: KafkaNodeAddress): string {
  const nodeId = p.nodeId ?? 1;
  const lines = [
    'process.roles=broker,controller',
    `node.id=${nodeId}`,
    `controller.quorum.voters=${p.voters ?? `${nodeId}@127.0.0.1:${p.controllerPort}`}`,
    `listeners=PLAINTEXT://127.0.0.1:${p.port},CONTROLLER://127.0.0.1:${p.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${p.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${p.logDir}`,
  ];
  const settings = { ...LOCAL_TUNING, ...(p.durability ?? SINGLE_NODE_SETTINGS) };
  for (const [name, value] of Object.entries(settings)) lines.push(`${name}=${String(value)}`);
  return `${lines.join('\n')}\n`;
}

/** What deploy/cluster-settings.json says of Kafka (the settings the manifests run). */
export interface KafkaClusterSettings {
  readonly brokers: number;
  readonly broker: BrokerSettings;
  readonly topics: { readonly partitions: number; readonly replicas: number; readonly config: BrokerSettings };
}

/**
 * The Kafka part of deploy/cluster-settings.json: broker count, broker settings (replication
 * of internal topics, min.insync.replicas, no unclean election) and topic settings. The
 * compose file and the Kubernetes manifests are tested against the same file, so a local
 * cluster started with these runs what production runs.
 */
export function clusterBrokerSettings(file = join(REPO_ROOT, 'deploy', 'cluster-settings.json')): KafkaClusterSettings {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { kafka?: KafkaClusterSettings };
  const kafka = parsed.kafka;
  if (!kafka || !Number.isInteger(kafka.brokers) || typeof kafka.broker !== 'object' || typeof kafka.topics?.config !== 'object') {
    throw new PlayPulseError('CONFIG_INVALID', `${file}: no kafka.brokers / kafka.broker / kafka.topics.config`);
  }
  return kafka;
}
