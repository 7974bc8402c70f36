/**
 * The edge role: `startEdge({ config, health, bundles })` runs the WebSocket gateway of
 * docs/contract.md §2–§3 on `config.edgePort` (0: a free port, returned), with the health
 * routes on the same port. It registers nothing global; the caller wires `stop()`.
 *
 * stop() drains: refuses new connections and new events, sends what is queued to Kafka,
 * acks what Kafka took, then closes every socket with 1001 (all settled) or 1013 (the
 * drain timed out), within `config.edge.drainTimeoutMs`.
 *
 * A new connection is closed with 1013 while the edge is draining, while the bytes in
 * flight to Kafka leave no room for one more frame of the maximum size (the global bound
 * is hit), when the player already has `maxConnsPerPlayer` sockets here, or when the edge
 * holds `maxConnections` sockets or the remote address `maxConnsPerIp` (edge/caps.ts).
 */
import { logLevel } from 'kafkajs';
import type { WebSocket } from 'uWebSockets.js';
import type { Config } from '../lib/config.ts';
import { PlayPulseError } from '../lib/errors.ts';
import type { Health } from '../lib/health.ts';
import { createDurableProducer, createKafka } from '../lib/kafka.ts';
import type { Tracing } from '../lib/tracing.ts';
import { createLogger } from '../lib/log.ts';
import { createRedis, isRedisReady } from '../lib/redis.ts';
import type { BundleSource } from '../designer/types.ts';
import { CLOSE, CLOSE_REASON } from '../protocol/close-codes.ts';
import { OfferDelivery } from './delivery.ts';
import { edgeMetrics } from './metrics.ts';
import { EventProducer } from './producer.ts';
import { ConnectionCaps } from './caps.ts';
import { SessionRegistry } from './registry.ts';
import { loadEdgeScripts } from './scripts.ts';
import { closeListenSocket, createEdgeApp, listen } from './server.ts';
import { Session, type SessionContext, type UserData } from './session.ts';

/** Timings that are not public configuration; tests and benchmarks may override them. */
export interface EdgeTuning {
  /** An event not acknowledged by Kafka within this is refused `unavailable`. */
  produceTimeoutMs: number;
  /** Kafka metadata probe interval (and its timeout); two failures mark Kafka down. */
  kafkaProbeIntervalMs: number;
  presenceTtlMs: number;
  presenceHeartbeatMs: number;
  inboxLimit: number;
  maxBatchBytes: number;
  maxBatchEvents: number;
}

export const DEFAULT_TUNING: EdgeTuning = {
  produceTimeoutMs: 5_000,
  kafkaProbeIntervalMs: 1_000,
  presenceTtlMs: 30_000,
  presenceHeartbeatMs: 10_000,
  inboxLimit: 100,
  maxBatchBytes: 768 * 1024,
  maxBatchEvents: 5_000,
};

/** Redis calls of `stop()` (presence removal, QUIT) are not waited for longer than this: Redis may be down. */
const REDIS_STOP_MS = 2_000;

function within(ms: number, p: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
}

export interface EdgeDeps {
  config: Config;
  health: Health;
  bundles: BundleSource;
  tuning?: Partial<EdgeTuning>;
  /** Traces (lib/tracing.ts); absent or null: off. */
  tracing?: Tracing | null;
}

export interface RunningEdge {
  port: number;
  instanceId: string;
  stop(): Promise<void>;
}

export async function startEdge(deps: EdgeDeps): Promise<RunningEdge> {
  const { config, health, bundles } = deps;
  const tracing = deps.tracing ?? null;
  const tuning: EdgeTuning = { ...DEFAULT_TUNING, ...deps.tuning };
  if (!config.kafkaBrokers || !config.redisUrl) {
    throw new PlayPulseError('CONFIG_INVALID', 'the edge needs resolved Kafka brokers and Redis URL');
  }
  const instanceId = config.instanceId;
  const log = createLogger('edge', { instance: instanceId });
  const limits = config.edge;

  const kafka = createKafka(config.kafkaBrokers, `playpulse-edge-${instanceId}`);
  const probeKafka = createKafka(config.kafkaBrokers, `playpulse-edge-probe-${instanceId}`, {
    connectionTimeout: Math.min(1_000, tuning.kafkaProbeIntervalMs),
    requestTimeout: Math.max(3_000, 2 * tuning.kafkaProbeIntervalMs),
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const producer = new EventProducer(
    createDurableProducer(kafka),
    probeKafka,
    {
      topic: config.topics.events,
      lingerMs: limits.lingerMs,
      produceTimeoutMs: tuning.produceTimeoutMs,
      probeIntervalMs: tuning.kafkaProbeIntervalMs,
      maxBatchBytes: tuning.maxBatchBytes,
      maxBatchEvents: tuning.maxBatchEvents,
    },
    log,
  );

  const redis = createRedis(config.redisUrl, 'edge');
  const subscriber = createRedis(config.redisUrl, 'edge-offers', {}, { shardedSubscribers: true });
  for (const client of [redis, subscriber]) client.on('error', (err: Error) => log.warn({ err: err.message }, 'Redis connection error'));
  const sessions = new SessionRegistry<Session>();
  const delivery = new OfferDelivery(
    redis,
    loadEdgeScripts(redis),
    subscriber,
    sessions,
    {
      keyPrefix: config.keyPrefix,
      instanceId,
      presenceTtlMs: tuning.presenceTtlMs,
      heartbeatMs: tuning.presenceHeartbeatMs,
      inboxLimit: tuning.inboxLimit,
    },
    log,
    tracing,
  );

  let draining = false;
  const ctx: SessionContext = { instanceId, limits, producer, bundles, log, tracing, isDraining: () => draining };

  const caps = new ConnectionCaps(limits.maxConnections, limits.maxConnsPerIp);
  const refuse = (ws: WebSocket<UserData>, reason: string, label: string): void => {
    edgeMetrics.refused.inc({ reason: label });
    ws.end(CLOSE.TRY_AGAIN_LATER, reason);
  };

  const open = (ws: WebSocket<UserData>): void => {
    const data = ws.getUserData();
    if (draining) return refuse(ws, CLOSE_REASON.draining, 'draining');
    if (producer.inflightBytes + limits.maxPayloadBytes > limits.inflightBytesGlobal) return refuse(ws, CLOSE_REASON.overloaded, 'overloaded');
    if (sessions.count(data.player) >= limits.maxConnsPerPlayer) return refuse(ws, CLOSE_REASON.tooManyConnections, 'player');
    // The address costs a string per socket: read only when a per-address cap needs it.
    const address = caps.perAddress ? Buffer.from(ws.getRemoteAddressAsText()).toString() : null;
    const capped = caps.admit(address);
    if (capped === 'edge') return refuse(ws, CLOSE_REASON.edgeFull, 'edge');
    if (capped === 'address') return refuse(ws, CLOSE_REASON.tooManyFromAddress, 'address');
    data.address = address;
    const session = new Session(ws, data.player, data.expMs, ctx, data.stream);
    data.session = session;
    sessions.add(session);
    edgeMetrics.connections.inc();
    session.start();
    if (!session.isClosed) void delivery.onConnect(session);
  };

  const close = (ws: WebSocket<UserData>, code: number): void => {
    edgeMetrics.closes.inc({ code: String(code) });
    const data = ws.getUserData();
    const session = data.session;
    if (!session) return;
    data.session = null;
    caps.release(data.address ?? null);
    session.onClose();
    edgeMetrics.connections.dec();
    if (sessions.remove(session)) delivery.onLastDisconnect(session.player);
  };

  const app = createEdgeApp({
    auth: config.auth,
    maxPayloadBytes: limits.maxPayloadBytes,
    maxBackpressureBytes: limits.maxBackpressureBytes,
    idleTimeoutSec: limits.idleTimeoutSec,
    health,
    log,
    isDraining: () => draining,
    open,
    close,
  });

  producer.start();
  await delivery.start(config.kafkaConnectTimeoutMs);
  health.addCheck('edge-kafka', () => producer.ready);
  health.addCheck('edge-redis', () => isRedisReady(redis) && isRedisReady(subscriber));
  const listening = await listen(app, config.edgePort);
  log.info({ port: listening.port, topic: config.topics.events }, 'edge listening');

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      draining = true;
      health.setDraining();
      closeListenSocket(listening.socket);
      const settled = await producer.drain(limits.drainTimeoutMs);
      const [code, reason] = settled ? [CLOSE.GOING_AWAY, CLOSE_REASON.shutdown] : [CLOSE.TRY_AGAIN_LATER, CLOSE_REASON.draining];
      const players = sessions.players();
      for (const session of sessions.all()) session.end(code, reason);
      await within(REDIS_STOP_MS, delivery.stop(players));
      await producer.stop();
      await within(REDIS_STOP_MS, Promise.allSettled([redis.quit(), subscriber.quit()]));
      redis.disconnect();
      subscriber.disconnect();
      app.close();
      log.info({ settled }, 'edge stopped');
    })());

  return { port: listening.port, instanceId, stop };
}
