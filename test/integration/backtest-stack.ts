import { resolve } from 'node:path';
import type { Config } from '../../lib/config.ts';
import { Health } from '../../lib/health.ts';
import { createRedis } from '../../lib/redis.ts';
import { signPlayerToken } from '../../edge/auth.ts';
import { startEdge } from '../../edge/index.ts';
import { startProcessors } from '../../processors/index.ts';
import { BundleStore } from '../../designer/store.ts';
import { startDecisionLog } from '../../offers/engine/decision-log.ts';
import { createLogger } from '../../lib/log.ts';
import { createDecider } from '../../offers/engine/decider.ts';
import { startOffers } from '../../offers/index.ts';
import { cleanupRedisPrefix, createTestTopics } from '../helpers/stack.ts';
import { createDurableProducer, createKafka } from '../../lib/kafka.ts';
import { encodeFrameRecord, encodeRecord, recordHeaders, type EventRecord, type FrameRecord } from '../../protocol/record.ts';
import type { RecordedEvents } from './backtest-events.ts';
import { sleep } from '../../lib/time.ts';

/**
 * Every role of PlayPulse in this process, wired as `npm start` wires them (bin/roles.ts),
 * on a test config: edge, processors with the decider, offers with the admin API and the
 * console. The rules folder is published as the first version of the fresh key prefix.
 */
export interface RunningPlayPulse {
  readonly config: Config;
  readonly adminUrl: string;
  readonly edgeUrl: string;
  readonly bundles: BundleStore;
  token(player: string): Promise<string>;
  /** Admin API call with the admin token; rejects on a non-2xx answer. */
  admin<T>(method: string, path: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

export async function startPlayPulse(config: Config, rulesDir = 'offers/rules'): Promise<RunningPlayPulse> {
  await createTestTopics(config);
  const redisUrl = config.redisUrl ?? '';
  const redis = createRedis(redisUrl, 'test-bundles');
  redis.on('error', () => undefined);
  const bundles = await BundleStore.open(redis, config.keyPrefix, { fallbackDir: resolve(rulesDir), pollMs: 200 });
  const offers = await startOffers({ config, health: new Health(), bundles });
  const deciderRedis = createRedis(redisUrl, 'test-decider');
  deciderRedis.on('error', () => undefined);
  const decisions = await startDecisionLog(config, createLogger('test-decisions'));
  const decider = createDecider({ config, redis: deciderRedis, bundles, decisionLog: decisions.log });
  const processors = await startProcessors({ config, health: new Health(), bundles, decider, onFatal: () => undefined });
  const edge = await startEdge({ config, health: new Health(), bundles });
  const adminUrl = `http://127.0.0.1:${offers.adminPort}`;
  return {
    config,
    adminUrl,
    edgeUrl: `ws://127.0.0.1:${edge.port}/v1/play`,
    bundles,
    token: (player) => signPlayerToken(config.authSecret, player, 3600),
    async admin<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${adminUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${config.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json()) as T;
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
      return json;
    },
    async stop() {
      await edge.stop();
      await processors.stop();
      await decider.close();
      await decisions.log.close();
      await offers.stop();
      await bundles.close();
      await cleanupRedisPrefix(redis, config.keyPrefix);
      deciderRedis.disconnect();
      redis.disconnect();
    },
  };
}

/**
 * Produces recorded events to the events topic, in order, with their recvAt as the record
 * timestamp: every other one as a version-2 record (a one-event frame, as the edge writes
 * it), the rest as version 1, so every backtest reads both versions.
 */
export async function produceRecorded(cfg: Config, events: RecordedEvents): Promise<void> {
  const kafka = createKafka(cfg.kafkaBrokers ?? [], 'backtest-test-producer');
  const producer = createDurableProducer(kafka);
  await producer.connect();
  try {
    for (let i = 0; i < events.records.length; i += 5_000) {
      const messages = events.records.slice(i, i + 5_000).map((r, j) => ({
        key: r.player,
        value: (i + j) % 2 === 0 ? encodeRecord(r) : encodeFrameRecord(asFrame(r)),
        headers: recordHeaders(r),
        timestamp: String(r.recvAt),
      }));
      await producer.send({ topic: cfg.topics.events, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

/** One event as the version-2 record of a one-event frame. */
function asFrame(r: EventRecord): FrameRecord {
  const event: FrameRecord['events'][number] = { id: r.id, type: r.type };
  if (r.ts !== undefined) event.ts = r.ts;
  if (r.data !== undefined) event.data = r.data;
  if (r.seq !== undefined) event.seq = r.seq;
  const frame: FrameRecord = { v: 2, player: r.player, recvAt: r.recvAt, edge: r.edge, session: r.session, events: [event] };
  if (r.stream !== undefined) frame.stream = r.stream;
  return frame;
}

/** Waits until the processors' group has committed every partition to its end. */
export async function waitConsumed(cfg: Config, groupId: string, timeoutMs: number): Promise<void> {
  const kafka = createKafka(cfg.kafkaBrokers ?? [], 'backtest-test-admin');
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    const ends = new Map((await admin.fetchTopicOffsets(cfg.topics.events)).map((p) => [p.partition, p.high]));
    for (;;) {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [cfg.topics.events] });
      const behind = (committed?.partitions ?? []).filter((p) => p.offset !== ends.get(p.partition));
      if (committed && committed.partitions.length === ends.size && behind.length === 0) return;
      if (Date.now() > deadline) throw new Error(`processors did not finish: ${JSON.stringify(behind)}`);
      await sleep(200);
    }
  } finally {
    await admin.disconnect();
  }
}
