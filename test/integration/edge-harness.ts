/**
 * Test harness for the edge: a real edge (uWS, real Kafka, real Redis) on a free port, and
 * a real WebSocket client (`ws`) that speaks MessagePack through `@msgpack/msgpack`, an
 * implementation independent of the edge's msgpackr, so every test also proves interop.
 */
import { decode, encode } from '@msgpack/msgpack';
import { Kafka, logLevel } from 'kafkajs';
import WebSocket from 'ws';
import { Health } from '../../lib/health.ts';
import { withServices, type Config } from '../../lib/config.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { compileBundle } from '../../designer/compile.ts';
import { staticBundleSource } from '../../designer/store.ts';
import type { BundleSource } from '../../designer/types.ts';
import { decodeRecords, type EventRecord } from '../../protocol/record.ts';
import { signPlayerTokenWith } from '../../edge/auth.ts';
import { startEdge, type EdgeTuning, type RunningEdge } from '../../edge/index.ts';
import { cleanupRedisPrefix, createTestTopics, testConfig, uniqueName } from '../helpers/stack.ts';

export const EVENTS_YAML = `events:
  match.end:
    data:
      result: { enum: [win, loss, draw], required: true }
      duration_s: int
      mode: string
  shop.purchase:
    data:
      sku: { type: string, required: true }
      coins: int
  level.up:
    data:
      level: { type: int, required: true }
  stats.sample:
    data:
      score: number
      flag: bool
      tags: list
      meta: map
`;

export function testBundles(): BundleSource {
  const compiled = compileBundle({ 'events.yaml': EVENTS_YAML });
  if (!compiled.ok) throw new Error(`test bundle does not compile: ${JSON.stringify(compiled.diagnostics)}`);
  return staticBundleSource(compiled.bundle);
}

export interface TestEdge {
  edge: RunningEdge;
  config: Config;
  health: Health;
  url(token?: string): string;
  token(player: string, ttlSec?: number): Promise<string>;
  stop(): Promise<void>;
}

export interface TestEdgeOptions {
  /** Environment overrides for a fresh testConfig (ignored with `config`). */
  env?: Record<string, string>;
  tuning?: Partial<EdgeTuning>;
  /** Share another edge's config (key prefix, topics) as a second instance. */
  config?: Config;
  /** Point the edge at other brokers (a dead port, a proxy). */
  kafkaBrokers?: string[];
  /** Point the edge at another Redis (a dead port). */
  redisUrl?: string;
}

export async function startTestEdge(opts: TestEdgeOptions = {}): Promise<TestEdge> {
  let config = opts.config ?? testConfig(opts.env ?? {});
  if (!opts.config) await createTestTopics(config);
  config = { ...config, instanceId: uniqueName('edge') };
  if (opts.kafkaBrokers || opts.redisUrl) {
    config = withServices(config, { kafkaBrokers: opts.kafkaBrokers ?? (config.kafkaBrokers as string[]), redisUrl: opts.redisUrl ?? (config.redisUrl as string) });
  }
  const health = new Health();
  const edge = await startEdge({ config, health, bundles: testBundles(), tuning: opts.tuning ?? {} });
  return {
    edge,
    config,
    health,
    url: (token) => `ws://127.0.0.1:${edge.port}/v1/play${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`,
    token: (player, ttlSec = 3600) => signPlayerTokenWith(config.auth, player, ttlSec),
    stop: () => edge.stop(),
  };
}

export type Frame = Record<string, unknown>;

/** A raw WebSocket client: frames encoded and decoded with @msgpack/msgpack. */
export class TestClient {
  readonly frames: Frame[] = [];
  readonly texts: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void; reject: (err: Error) => void; from: number }[] = [];
  /** Set once the socket closed: no frame arrives after it. */
  private closedWith: { code: number; reason: string } | null = null;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closedWith = { code, reason: reason.toString() };
        // A frame still awaited can never come: fail now, not at the test timeout.
        for (const w of this.waiters.splice(0)) w.reject(this.closedError());
        resolve(this.closedWith);
      }),
    );
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        this.texts.push(data.toString());
        return;
      }
      const frame = safeInts(decode(data, { useBigInt64: true })) as Frame;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
    ws.on('error', () => undefined);
  }

  /** Opens and waits for `hello`. */
  static async connect(url: string, opts: WebSocket.ClientOptions = {}): Promise<TestClient> {
    const ws = new WebSocket(url, opts);
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    return client;
  }

  /** Opens without waiting for anything but the upgrade. */
  static open(url: string): Promise<TestClient> {
    return TestClient.connect(url);
  }

  send(frame: unknown): void {
    this.ws.send(encode(frame, { useBigInt64: true }));
  }

  sendRaw(bytes: Uint8Array | string, binary = true): void {
    this.ws.send(bytes, { binary });
  }

  /** The first frame (already received or later) matching `pred`; rejects if the socket closes first. */
  next(pred: (f: Frame) => boolean): Promise<Frame> {
    const have = this.frames.find(pred);
    if (have) return Promise.resolve(have);
    if (this.closedWith) return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => this.waiters.push({ pred, resolve, reject, from: this.frames.length }));
  }

  /** Resolves once `cond` holds, re-checked after every frame; rejects if the socket closes first. */
  async until(cond: () => boolean): Promise<void> {
    while (!cond()) await this.arrival();
  }

  /** The next frame to arrive (not one already received). */
  private arrival(): Promise<Frame> {
    if (this.closedWith) return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => this.waiters.push({ pred: () => true, resolve, reject, from: this.frames.length }));
  }

  private closedError(): Error {
    const c = this.closedWith;
    return new Error(`the socket closed (${c?.code} ${c?.reason ?? ''}) before the awaited frame; frames: ${this.frames.map((f) => f.t).join(',')}`);
  }

  /** Waits until every id is acked; resolves with them. */
  async acked(ids: readonly string[]): Promise<void> {
    const want = new Set(ids);
    const seen = () => {
      for (const f of this.frames) if (f.t === 'ack') for (const id of f.ids as string[]) want.delete(id);
      return want.size === 0;
    };
    while (!seen()) await this.next((f) => f.t === 'ack' && (f.ids as string[]).some((id) => want.has(id)));
  }

  errors(code?: string): Frame[] {
    return this.frames.filter((f) => f.t === 'err' && (code === undefined || f.code === code));
  }

  ackedIds(): string[] {
    return this.frames.filter((f) => f.t === 'ack').flatMap((f) => f.ids as string[]);
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
    return this.closed;
  }
}

/** int64 values decode as BigInt; those that are safe integers become numbers, as a typed client reads them. */
function safeInts(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (Array.isArray(v)) return v.map(safeInts);
  if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, safeInts(x)]));
  return v;
}

/** HTTP status of an upgrade attempt that is refused (or 101 when it is accepted). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', (err) => reject(err));
  });
}

/** The status and JSON body of a refused upgrade (status 101 and a null body when it upgraded). */
export function upgradeRefusal(url: string): Promise<{ status: number; body: { error?: string; message?: string } | null }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { error?: string; message?: string } });
        ws.terminate();
      });
    });
    ws.once('open', () => {
      resolve({ status: 101, body: null });
      ws.close();
    });
    ws.once('error', (err) => reject(err));
  });
}

/** Value of a metric (summed over its label sets) as /metrics shows it now. */
export async function metricValue(port: number, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (m && m[1] === name && (labels === '' || (m[2] ?? '').includes(labels))) sum += Number(m[3]);
  }
  return sum;
}

/** Reads the events topic from the beginning, one entry per event, until `until` holds. */
export async function readEvents(
  config: Config,
  until: (records: EventRecord[]) => boolean,
): Promise<{ records: EventRecord[]; keys: string[]; messages: { key: string; headers: Record<string, string>; events: EventRecord[] }[] }> {
  const kafka = new Kafka({ clientId: 'edge-test-reader', brokers: [...(config.kafkaBrokers ?? [])], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: uniqueName('edge-test') });
  const records: EventRecord[] = [];
  const keys: string[] = [];
  const messages: { key: string; headers: Record<string, string>; events: EventRecord[] }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: config.topics.events, fromBeginning: true });
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const events = decodeRecords(message.value);
      const key = message.key?.toString() ?? '';
      for (const record of events) {
        records.push(record);
        keys.push(key);
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(Array.isArray(v) ? v[0] : v);
      messages.push({ key, headers, events });
      if (until(records)) done();
    },
  });
  await finished;
  await consumer.disconnect();
  return { records, keys, messages };
}

export async function withRedis<T>(config: Config, fn: (redis: RedisClient) => Promise<T>): Promise<T> {
  const redis = createRedis(config.redisUrl as string, 'edge-test');
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

export async function cleanup(config: Config): Promise<void> {
  await withRedis(config, (r) => cleanupRedisPrefix(r, config.keyPrefix));
}

