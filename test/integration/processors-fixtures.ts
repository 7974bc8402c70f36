/**
 * Shared pieces of the processors integration tests: a small game (events and properties
 * compiled by the real designer compiler), deterministic event streams, the state they must
 * produce (applying each distinct event id once, in order), and Kafka helpers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kafka, Message } from 'kafkajs';
import { compileBundle } from '../../designer/compile.ts';
import type { Bundle, BundleSource } from '../../designer/types.ts';
import type { AppliedEvent, Decider } from '../../processors/decider-seam.ts';
import { encodeFrameRecord, encodeRecord, frameRecordHeaders, recordHeaders, type EventRecord, type FrameRecord } from '../../protocol/record.ts';
import type { Config } from '../../lib/config.ts';
import { createDurableProducer } from '../../lib/kafka.ts';
import { createRng } from '../../load/scenarios/events.ts';
import { sleep } from '../../lib/time.ts';

export const GAME_EVENTS = `
events:
  match.end:
    data:
      result: { enum: [win, loss, draw], required: true }
      score: int
  shop.purchase:
    data:
      sku: { type: string, required: true }
      coins: int
  level.up:
    data:
      level: { type: int, required: true }
  chat.message:
    data:
      text: string
`;

export const GAME_PROPERTIES = `
properties:
  matches:     { count: { event: match.end } }
  loss_streak: { streak: { event: match.end, when: 'event.data.result == "loss"' } }
  losses_10m:  { count: { event: match.end, when: 'event.data.result == "loss"', window: 10m } }
  coins_7d:    { sum: { event: shop.purchase, field: data.coins, window: 7d } }
  coins_total: { sum: { event: shop.purchase, field: data.coins } }
  cheapest:    { min: { event: shop.purchase, field: data.coins } }
  best_score:  { max: { event: match.end, field: data.score } }
  level:       { last: { event: level.up, field: data.level } }
  last_sku:    { last: { event: shop.purchase, field: data.sku } }
`;

export function gameFiles(properties = GAME_PROPERTIES): Record<string, string> {
  return { 'events.yaml': GAME_EVENTS, 'properties.yaml': properties };
}

export function compileGame(properties = GAME_PROPERTIES): Bundle {
  const r = compileBundle(gameFiles(properties));
  if (!r.ok) throw new Error(`test bundle does not compile: ${JSON.stringify(r.diagnostics)}`);
  return r.bundle;
}

/** A folder holding the game's designer files (for child processes). */
export function gameDir(properties = GAME_PROPERTIES): string {
  const dir = mkdtempSync(join(tmpdir(), 'pp-game-'));
  for (const [name, text] of Object.entries(gameFiles(properties))) writeFileSync(join(dir, name), text);
  return dir;
}

/** A BundleSource whose bundle the test swaps. */
export class SwappableSource implements BundleSource {
  private readonly listeners = new Set<(b: Bundle) => void>();
  constructor(private bundle: Bundle) {}
  current(): Bundle {
    return this.bundle;
  }
  onChange(listener: (b: Bundle) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  swap(bundle: Bundle): void {
    this.bundle = bundle;
    for (const l of this.listeners) l(bundle);
  }
}

/** A Decider that keeps what it was given, in order. */
export class RecordingDecider implements Decider {
  readonly events: AppliedEvent[] = [];
  async decideBatch(events: readonly AppliedEvent[]): Promise<void> {
    for (const e of events) this.events.push(e);
  }
}

export const BASE_TIME = 1_764_000_000_000;

/**
 * `perPlayer` events for each of `players` players, interleaved, with receive times 1 ms
 * apart starting at `BASE_TIME` (all inside every window of the game).
 */
export function gameEvents(players: number, perPlayer: number, seed = 1, idPrefix = 'e'): EventRecord[] {
  const rnd = createRng(seed);
  const out: EventRecord[] = [];
  const results = ['win', 'loss', 'loss', 'draw'] as const;
  for (let i = 0; i < perPlayer; i++) {
    for (let p = 0; p < players; p++) {
      const player = `player-${p}`;
      const r = rnd();
      const n = out.length;
      const base = { v: 1, player, id: `${idPrefix}-${p}-${i}`, recvAt: BASE_TIME + n, edge: 'edge-test', session: `s-${p}` };
      if (r < 0.55) out.push({ ...base, type: 'match.end', data: { result: results[Math.floor(rnd() * 4)] as string, score: Math.floor(rnd() * 1000) } });
      else if (r < 0.8) out.push({ ...base, type: 'shop.purchase', data: { sku: `sku-${Math.floor(rnd() * 5)}`, coins: 1 + Math.floor(rnd() * 500) } });
      else if (r < 0.9) out.push({ ...base, type: 'level.up', data: { level: i } });
      else out.push({ ...base, type: 'chat.message', data: { text: 'gg' } });
    }
  }
  return out;
}

export interface ExpectedPlayer {
  events_total: number;
  first_seen: number;
  last_seen: number;
  props: Record<string, number | string | null>;
}

/** The state of GAME_PROPERTIES after applying each distinct event id once, in order. */
export function expectedStates(events: readonly EventRecord[]): Map<string, ExpectedPlayer> {
  const out = new Map<string, ExpectedPlayer>();
  const seen = new Set<string>();
  for (const e of events) {
    const key = `${e.player}\u0000${e.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let s = out.get(e.player);
    if (!s) {
      s = {
        events_total: 0,
        first_seen: e.recvAt,
        last_seen: e.recvAt,
        props: { matches: 0, loss_streak: 0, losses_10m: 0, coins_7d: 0, coins_total: 0, cheapest: null, best_score: null, level: null, last_sku: null },
      };
      out.set(e.player, s);
    }
    s.events_total += 1;
    s.last_seen = Math.max(s.last_seen, e.recvAt);
    const d = e.data ?? {};
    const p = s.props;
    if (e.type === 'match.end') {
      p.matches = (p.matches as number) + 1;
      const loss = d.result === 'loss';
      p.loss_streak = loss ? (p.loss_streak as number) + 1 : 0;
      if (loss) p.losses_10m = (p.losses_10m as number) + 1;
      if (typeof d.score === 'number') p.best_score = p.best_score === null ? d.score : Math.max(p.best_score as number, d.score);
    } else if (e.type === 'shop.purchase') {
      const coins = d.coins as number;
      p.coins_7d = (p.coins_7d as number) + coins;
      p.coins_total = (p.coins_total as number) + coins;
      p.cheapest = p.cheapest === null ? coins : Math.min(p.cheapest as number, coins);
      p.last_sku = d.sku as string;
    } else if (e.type === 'level.up') {
      p.level = d.level as number;
    }
  }
  return out;
}

/** Produces records keyed by player, in order, acked by all in-sync replicas. */
export async function produceRecords(kafka: Kafka, topic: string, records: readonly EventRecord[], batch = 5_000): Promise<void> {
  const producer = createDurableProducer(kafka);
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += batch) {
      await producer.send({
        topic,
        acks: -1,
        messages: records.slice(i, i + batch).map((r) => ({ key: r.player, value: encodeRecord(r), headers: recordHeaders(r) })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * `events` as the topic's messages of both record versions (protocol/record.ts): each
 * player's events, in order, cut into runs of 1..`maxRun`; a run of one alternates between a
 * version-1 and a one-event version-2 record, a longer run is one version-2 record (one
 * frame), whose events share the run's last recvAt. Players' records interleave. Returns the
 * messages and the events as readers see them (recvAt shared per frame), in message order.
 */
export function mixedVersionMessages(events: readonly EventRecord[], seed: number, maxRun = 6): { messages: Message[]; events: EventRecord[] } {
  const rnd = createRng(seed);
  const byPlayer = new Map<string, EventRecord[]>();
  for (const e of events) byPlayer.set(e.player, [...(byPlayer.get(e.player) ?? []), e]);
  const queues = [...byPlayer.values()].map((list) => ({ list, at: 0 }));
  const messages: Message[] = [];
  const applied: EventRecord[] = [];
  let ones = 0;
  while (queues.some((q) => q.at < q.list.length)) {
    for (const q of queues) {
      if (q.at >= q.list.length) continue;
      const run = q.list.slice(q.at, q.at + 1 + Math.floor(rnd() * maxRun));
      q.at += run.length;
      const first = run[0] as EventRecord;
      if (run.length === 1 && ones++ % 2 === 0) {
        messages.push({ key: first.player, value: encodeRecord(first), headers: recordHeaders(first) });
        applied.push(first);
        continue;
      }
      const recvAt = (run[run.length - 1] as EventRecord).recvAt;
      const frame: FrameRecord = {
        v: 2,
        player: first.player,
        recvAt,
        edge: first.edge,
        session: first.session,
        events: run.map((e) => ({ id: e.id, type: e.type, ...(e.ts === undefined ? {} : { ts: e.ts }), ...(e.data === undefined ? {} : { data: e.data }) })),
      };
      messages.push({ key: first.player, value: encodeFrameRecord(frame), headers: frameRecordHeaders(frame.events) });
      for (const e of run) applied.push({ ...e, v: 2, recvAt });
    }
  }
  return { messages, events: applied };
}

/** Runs `fn`, retrying a few times: topic creation right after another can meet stale metadata. */
export async function retried<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      await sleep(300 * i);
    }
  }
}

/** Polls `probe` until it returns true; rejects with `what` after `timeoutMs`. Waiting, not a timing assertion. */
export async function waitUntil(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 90_000, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Committed offsets of `groupId` on `topic`, summed over partitions, and the topic's end. */
export async function groupProgress(kafka: Kafka, groupId: string, topic: string): Promise<{ committed: number; end: number }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [ends, groups] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const end = ends.reduce((s, p) => s + Number(p.high), 0);
    const committed = (groups[0]?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    return { committed, end };
  } finally {
    await admin.disconnect();
  }
}

const CHILD = fileURLToPath(new URL('../../processors/run-child.ts', import.meta.url));

export interface ProcessorChild {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

/** Starts processors/run-child.ts with `config`'s services, prefixes and `env`. Resolves once it reports ready. */
export async function startProcessorChild(config: Config, rulesDir: string, env: Record<string, string> = {}): Promise<ProcessorChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: {
      ...process.env,
      KAFKA_BROKERS: (config.kafkaBrokers ?? []).join(','),
      REDIS_URL: config.redisUrl ?? '',
      PLAYPULSE_KEY_PREFIX: config.keyPrefix,
      PLAYPULSE_TOPIC_PREFIX: config.topics.events.replace(/player-events$/, ''),
      PLAYPULSE_PARTITIONS: String(config.topics.partitions),
      PLAYPULSE_RULES_DIR: rulesDir,
      PLAYPULSE_LOG_LEVEL: process.env.PLAYPULSE_LOG_LEVEL ?? 'warn',
      PLAYPULSE_LOG_PRETTY: '0',
      HEALTH_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  await waitUntil('the processors child to be ready', () => {
    if (gone) throw new Error(`processors child exited before ready:\n${out}`);
    return out.includes('"ready":true');
  }, 60_000, 100);
  return { child, exited, output: () => out };
}
