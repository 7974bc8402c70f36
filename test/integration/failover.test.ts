/**
 * Failover of the processors' consumer group, with real child processes
 * (processors/run-child.ts), a real broker and a real Redis, at the short session timeout
 * the processors run with by default. While probe players send one event every 100 ms, a
 * processor is SIGKILLed (a second one survives; or it is restarted at once) or SIGTERMed.
 * Asserted: the partitions end up with the live processor, every offset is committed, and
 * every player's state is exactly what applying each event once gives. Recorded, not
 * asserted: the recovery timeline (kill → survivor joined → first event applied on the
 * partitions it took over → every partition caught up) and the send → applied latency of
 * the probe events around the fault, printed as one line per case.
 */
import { rmSync } from 'node:fs';
import { AssignerProtocol, Partitioners, type Admin, type Kafka } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.ts';
import { createDurableProducer, createKafka, type DurableProducer } from '../../lib/kafka.ts';
import { createApplyClient, type ScriptClient } from '../../processors/scripts.ts';
import { readPlayerState } from '../../processors/state.ts';
import { encodeRecord, recordHeaders, type EventRecord } from '../../protocol/record.ts';
import { cleanupRedisPrefix, createTestTopics, testConfig, testServices } from '../helpers/stack.ts';
import {
  BASE_TIME,
  compileGame,
  expectedStates,
  gameDir,
  gameEvents,
  groupProgress,
  produceRecords,
  retried,
  startProcessorChild,
  waitUntil,
  type ProcessorChild,
} from './processors-fixtures.ts';
import { sleep } from '../../lib/time.ts';

const PARTITIONS = 6;
const PLAYERS = 300;
const PER_PLAYER = 20;
const PROBE_EVERY_MS = 100;
/** The processors' defaults (lib/config.ts), spelled out so the test runs with them whatever the environment says. */
const GROUP_ENV = { PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS: '6000', PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS: '1000', PLAYPULSE_LOG_LEVEL: 'info' };

let redis: ScriptClient;
let kafka: Kafka;
let admin: Admin;
const children: ProcessorChild[] = [];
const prefixes: string[] = [];
const rulesDir = gameDir();
const bundle = compileGame();

beforeAll(async () => {
  redis = createApplyClient(testServices().redisUrl, 'test-failover');
  kafka = createKafka(testServices().kafkaBrokers, 'test-failover');
  admin = kafka.admin();
  await admin.connect();
});

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.child.exitCode === null && c.child.signalCode === null) {
      c.child.kill('SIGTERM');
      await c.exited;
    }
  }
});

afterAll(async () => {
  await admin.disconnect();
  for (const p of prefixes) await cleanupRedisPrefix(redis, p);
  await redis.quit();
  rmSync(rulesDir, { recursive: true, force: true });
});

async function setup(): Promise<Config> {
  const config = testConfig({ PLAYPULSE_PARTITIONS: String(PARTITIONS) });
  prefixes.push(config.keyPrefix);
  await retried(() => createTestTopics(config));
  return config;
}

async function child(config: Config, env: Record<string, string> = {}): Promise<ProcessorChild> {
  const c = await startProcessorChild(config, rulesDir, { ...GROUP_ENV, ...env });
  children.push(c);
  return c;
}

const groupOf = (config: Config) => `${config.keyPrefix}-processors`;

/** The group's members and the partitions each holds, as the coordinator has them. */
async function members(config: Config): Promise<{ state: string; members: { clientId: string; partitions: number[] }[] }> {
  const { groups } = await admin.describeGroups([groupOf(config)]);
  const g = groups[0];
  return {
    state: g?.state ?? 'Unknown',
    members: (g?.members ?? []).map((m) => {
      const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      return { clientId: m.clientId, partitions: [...(a?.assignment[config.topics.events] ?? [])].sort((x, y) => x - y) };
    }),
  };
}

async function stableWith(config: Config, count: number): Promise<{ clientId: string; partitions: number[] }[]> {
  let last: { clientId: string; partitions: number[] }[] = [];
  await waitUntil(`the group to be stable with ${count} member(s) holding every partition`, async () => {
    const g = await members(config);
    last = g.members;
    const held = g.members.flatMap((m) => m.partitions).sort((x, y) => x - y);
    return g.state === 'Stable' && g.members.length === count && g.members.every((m) => m.partitions.length > 0) && held.join() === allPartitions().join();
  });
  return last;
}

const allPartitions = () => Array.from({ length: PARTITIONS }, (_, i) => i);

/** Phase one: every player's history, with receive times just before now. */
function history(seed: number): EventRecord[] {
  const start = Date.now() - PLAYERS * PER_PLAYER - 60_000;
  return gameEvents(PLAYERS, PER_PLAYER, seed).map((e) => ({ ...e, recvAt: e.recvAt - BASE_TIME + start }));
}

const partitioner = Partitioners.DefaultPartitioner();
const partitionMetadata = allPartitions().map((partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));

/** One probe player per partition (found by the producer's own partitioner). */
function probePlayers(): string[] {
  const out = new Map<number, string>();
  for (let i = 0; out.size < PARTITIONS; i++) {
    const player = `probe-${i}`;
    const p = partitioner({ topic: 't', partitionMetadata, message: { key: player, value: null } });
    if (!out.has(p)) out.set(p, player);
  }
  return allPartitions().map((p) => out.get(p) as string);
}

interface ProbeEvent {
  readonly partition: number;
  readonly record: EventRecord;
  readonly sentAt: number;
  appliedAt?: number;
}

/**
 * Sends one event per probe player every 100 ms and watches each probe's `events_total`
 * every 25 ms, so each probe event gets the time it was sent and the time it was seen
 * applied.
 */
class Probes {
  readonly events: ProbeEvent[] = [];
  private readonly players = probePlayers();
  private readonly byPartition: ProbeEvent[][] = this.players.map(() => []);
  private readonly producer: DurableProducer;
  private running = true;
  private loops: Promise<void>[] = [];
  private seq = 0;
  private failure: unknown = null;

  constructor(private readonly config: Config) {
    this.producer = createDurableProducer(kafka);
  }

  async start(): Promise<void> {
    await this.producer.connect();
    const guard = (loop: Promise<void>) =>
      loop.catch((err: unknown) => {
        this.failure ??= err;
        this.running = false;
      });
    this.loops = [guard(this.sendLoop()), guard(this.watchLoop())];
  }

  /** Throws what stopped a loop, if one failed. */
  check(): void {
    if (this.failure) throw this.failure instanceof Error ? this.failure : new Error(String(this.failure));
  }

  private async sendLoop(): Promise<void> {
    while (this.running) {
      const at = Date.now();
      const batch = this.players.map((player, partition) => {
        const record: EventRecord = { v: 1, player, id: `probe-${this.seq}-${partition}`, recvAt: at, edge: 'edge-test', session: `s-${player}`, type: 'chat.message', data: { text: 'gg' } };
        return { partition, record, sentAt: at };
      });
      this.seq += 1;
      await this.producer.send({
        topic: this.config.topics.events,
        acks: -1,
        messages: batch.map((b) => ({ key: b.record.player, value: encodeRecord(b.record), headers: recordHeaders(b.record) })),
      });
      for (const b of batch) {
        this.events.push(b);
        this.byPartition[b.partition]?.push(b);
      }
      await sleep(Math.max(0, PROBE_EVERY_MS - (Date.now() - at)));
    }
  }

  private async watchLoop(): Promise<void> {
    while (this.running) {
      const now = Date.now();
      const states = await Promise.all(this.players.map((p) => readPlayerState(redis, this.config.keyPrefix, p, bundle, now)));
      const seenAt = Date.now();
      states.forEach((s, partition) => {
        const list = this.byPartition[partition] ?? [];
        for (let i = 0; i < Math.min(s.events_total, list.length); i++) {
          const e = list[i] as ProbeEvent;
          e.appliedAt ??= seenAt;
        }
      });
      await sleep(25);
    }
  }

  /** Probe events per partition applied so far. */
  applied(partition: number): number {
    return (this.byPartition[partition] ?? []).filter((e) => e.appliedAt !== undefined).length;
  }

  /** True once every partition has applied a probe event sent at or after `t`. */
  caughtUpSince(t: number): boolean {
    return this.byPartition.every((list) => list.some((e) => e.sentAt >= t && e.appliedAt !== undefined));
  }

  /** The first time a probe event of `partition` sent at or after `t` was seen applied. */
  firstAppliedSince(partition: number, t: number): number | undefined {
    const times = (this.byPartition[partition] ?? []).filter((e) => e.sentAt >= t && e.appliedAt !== undefined).map((e) => e.appliedAt as number);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await this.producer.disconnect();
    this.check();
  }

  /** Latency (sent → seen applied) of the probe events on `partitions` sent in [from, to]. */
  latencies(partitions: readonly number[], from: number, to: number): number[] {
    return this.events
      .filter((e) => partitions.includes(e.partition) && e.sentAt >= from && e.sentAt <= to && e.appliedAt !== undefined)
      .map((e) => (e.appliedAt as number) - e.sentAt)
      .sort((a, b) => a - b);
  }
}

/** Log lines of a child (pino JSON), parsed; other lines skipped. */
function logLines(c: ProcessorChild): { time: number; msg: string; [k: string]: unknown }[] {
  const out: { time: number; msg: string }[] = [];
  for (const line of c.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const v = JSON.parse(line) as { time?: unknown; msg?: unknown };
      if (typeof v.time === 'number' && typeof v.msg === 'string') out.push(v as { time: number; msg: string });
    } catch {
      // a line cut by the output bound
    }
  }
  return out;
}

/** The first "joined consumer group" of `c` at or after `t`, with its partitions. */
function joinAfter(c: ProcessorChild, t: number, topic: string): { time: number; partitions: number[] } | undefined {
  const line = logLines(c).find((l) => l.msg === 'joined consumer group' && l.time >= t);
  if (!line) return undefined;
  const assignment = (line.assignment ?? {}) as Record<string, number[]>;
  return { time: line.time, partitions: [...(assignment[topic] ?? [])].sort((x, y) => x - y) };
}

function startedAfter(c: ProcessorChild, t: number): number | undefined {
  return logLines(c).find((l) => l.msg === 'consumer connecting' && l.time >= t)?.time;
}

function firstBatchAfter(c: ProcessorChild, t: number): number | undefined {
  return logLines(c).find((l) => l.msg === 'first batch applied since joining' && l.time >= t)?.time;
}

async function assertExact(config: Config, events: readonly EventRecord[]): Promise<void> {
  const expected = [...expectedStates(events)];
  const now = Math.max(...events.map((e) => e.recvAt));
  const wrong: unknown[] = [];
  for (let i = 0; i < expected.length; i += 200) {
    const slice = expected.slice(i, i + 200);
    const states = await Promise.all(slice.map(([player]) => readPlayerState(redis, config.keyPrefix, player, bundle, now)));
    slice.forEach(([player, want], j) => {
      const got = states[j];
      const same =
        got &&
        got.events_total === want.events_total &&
        got.first_seen === want.first_seen &&
        got.last_seen === want.last_seen &&
        JSON.stringify(got.props) === JSON.stringify(want.props);
      if (!same) wrong.push({ player, want, got });
    });
  }
  expect(wrong.slice(0, 3)).toEqual([]);
  expect(expected).toHaveLength(PLAYERS + PARTITIONS);
}

function pct(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
}

const rel = (t: number | undefined, t0: number) => (t === undefined ? 'n/a' : `${t - t0} ms`);

/**
 * Runs one fault: history applied and committed, probes running with normal latency, then
 * `fault` (returns the processor that holds the partitions afterwards); then waits until every
 * partition applies probe events sent after the fault, stops the probes and checks the outcome.
 */
async function scenario(
  name: string,
  config: Config,
  victim: ProcessorChild,
  fault: () => Promise<{ survivor: ProcessorChild; faultAt: number; goneAt: number; restartedAt?: number; readyAt?: number }>,
): Promise<void> {
  const before = await stableWith(config, children.filter((c) => c.child.exitCode === null && c.child.signalCode === null).length);
  const events = history(31);
  await produceRecords(kafka, config.topics.events, events, 2_000);
  const probes = new Probes(config);
  await probes.start();
  const probingFrom = Date.now();
  try {
    await waitUntil('the history to be committed and every probe partition to apply events', async () => {
      probes.check();
      const p = await groupProgress(kafka, groupOf(config), config.topics.events);
      return p.committed >= events.length && allPartitions().every((i) => probes.applied(i) >= 5);
    });
    const victimPartitions = before.find((m) => m.clientId === clientIdOf(victim))?.partitions ?? [];
    expect(victimPartitions.length).toBeGreaterThan(0);

    const { survivor, faultAt, goneAt, restartedAt, readyAt } = await fault();
    await waitUntil('every partition to apply probe events sent after the fault', () => {
      probes.check();
      return probes.caughtUpSince(faultAt + PROBE_EVERY_MS);
    }, 60_000, 50);
    const recoveredAt = Date.now();
    await sleep(500);
    await probes.stop();

    const after = await stableWith(config, 1);
    expect(after[0]?.partitions).toEqual(allPartitions());
    const join = joinAfter(survivor, faultAt, config.topics.events);
    expect(join?.partitions).toEqual(allPartitions());

    const all = [...events, ...probes.events.map((e) => e.record)];
    await waitUntil('every offset to be committed', async () => {
      const p = await groupProgress(kafka, groupOf(config), config.topics.events);
      return p.committed === all.length && p.end === all.length;
    });
    await assertExact(config, all);

    const moved = victimPartitions;
    const stayed = allPartitions().filter((p) => !moved.includes(p));
    const firstApplied = Math.min(...moved.map((p) => probes.firstAppliedSince(p, faultAt) ?? Number.POSITIVE_INFINITY));
    const movedLat = probes.latencies(moved, faultAt - 2_000, recoveredAt);
    const stayedLat = probes.latencies(stayed, faultAt - 2_000, recoveredAt);
    const normal = probes.latencies(allPartitions(), probingFrom, faultAt - PROBE_EVERY_MS);
    console.log(
      `failover ${name}: session ${GROUP_ENV.PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS} ms, heartbeat ${GROUP_ENV.PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS} ms; ` +
        `from the fault: process gone ${rel(goneAt, faultAt)}, ${restartedAt === undefined ? '' : `replacement spawned ${rel(restartedAt, faultAt)}, consumer connecting ${rel(startedAfter(survivor, faultAt), faultAt)}, ready ${rel(readyAt, faultAt)}, `}` +
        `joined with all ${PARTITIONS} partitions ${rel(join?.time, faultAt)}, first batch after joining ${rel(firstBatchAfter(survivor, faultAt), faultAt)}, ` +
        `first probe applied on the moved partitions [${moved.join(',')}] ${rel(Number.isFinite(firstApplied) ? firstApplied : undefined, faultAt)}, every partition caught up ${rel(recoveredAt, faultAt)}; ` +
        `send→applied latency around the fault: moved partitions p50 ${pct(movedLat, 0.5)} max ${pct(movedLat, 1)} ms, other partitions p50 ${pct(stayedLat, 0.5)} max ${pct(stayedLat, 1)} ms ` +
        `(before the fault p50 ${pct(normal, 0.5)} max ${pct(normal, 1)} ms); ${all.length} events, every player exact`,
    );
  } finally {
    await probes.stop().catch(() => undefined);
  }
}

/** The Kafka client id of a child: its instance id, from its log. */
function clientIdOf(c: ProcessorChild): string | undefined {
  const line = logLines(c).find((l) => typeof l.instance === 'string');
  return line ? `playpulse-processors-${line.instance as string}` : undefined;
}


describe('processors failover at the default session timeout', () => {
  it('two processors, one SIGKILLed: the survivor takes over every partition and every event is applied once', async () => {
    const config = await setup();
    const [a, b] = await Promise.all([child(config), child(config)]);
    await scenario('SIGKILL, survivor takes over', config, a as ProcessorChild, async () => {
      const faultAt = Date.now();
      a?.child.kill('SIGKILL');
      await a?.exited;
      return { survivor: b as ProcessorChild, faultAt, goneAt: Date.now() };
    });
  });

  it.each([
    { how: 'without a slot', env: {} as Record<string, string>, evicts: false },
    { how: 'with the same PLAYPULSE_PROCESSOR_SLOT', env: { PLAYPULSE_PROCESSOR_SLOT: 'failover-0' }, evicts: true },
  ])('one processor SIGKILLed and started again at once $how: the new process takes every partition', async ({ how, env, evicts }) => {
    const config = await setup();
    const a = await child(config, env);
    let b: ProcessorChild | undefined;
    await scenario(`SIGKILL, restarted ${how}`, config, a, async () => {
      const faultAt = Date.now();
      a.child.kill('SIGKILL');
      await a.exited;
      const goneAt = Date.now();
      b = await child(config, env);
      return { survivor: b, faultAt, goneAt, restartedAt: goneAt, readyAt: Date.now() };
    });
    const previous = logLines(a).filter((l) => l.msg === 'joined consumer group').map((l) => l.memberId);
    const evicted = logLines(b as ProcessorChild).filter((l) => l.msg === 'evicted previous member of this slot');
    // With a slot, the replacement evicted exactly the killed process's member; without one, nothing.
    expect(evicted.map((l) => l.memberId)).toEqual(evicts ? [previous.at(-1)] : []);
    for (const l of evicted) console.log(`failover eviction: predecessor's record stale for ${String(l.staleForMs)} ms, LeaveGroup sent and answered in ${String(l.ms)} ms`);
  });

  it('two live processors given the same slot: the second evicts nobody and both keep their members', async () => {
    const config = await setup();
    const env = { PLAYPULSE_PROCESSOR_SLOT: 'failover-dup' };
    const a = await child(config, env);
    await stableWith(config, 1);
    const b = await child(config, env);
    await stableWith(config, 2);
    const joinsOf = (c: ProcessorChild) => logLines(c).filter((l) => l.msg === 'joined consumer group').map((l) => l.memberId);
    await waitUntil('the second process to find the slot held', () => logLines(b).some((l) => l.msg.startsWith('processor slot is held by a live process')));
    expect(logLines(b).filter((l) => l.msg === 'evicted previous member of this slot')).toEqual([]);
    // An evicted member would have rejoined under a new member id.
    const ids = joinsOf(a);
    expect(ids.length).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(1);
    const g = await members(config);
    expect(g.members.map((m) => m.clientId).sort()).toEqual([clientIdOf(a), clientIdOf(b)].sort());
  });

  it('two processors, one SIGTERMed: it exits 0 having left the group, the other takes over', async () => {
    const config = await setup();
    const [a, b] = await Promise.all([child(config), child(config)]);
    await scenario('SIGTERM, survivor takes over', config, a as ProcessorChild, async () => {
      const faultAt = Date.now();
      a?.child.kill('SIGTERM');
      expect(await a?.exited).toBe(0);
      expect(logLines(a as ProcessorChild).filter((l) => l.msg === 'left consumer group' && l.time >= faultAt)).toHaveLength(1);
      return { survivor: b as ProcessorChild, faultAt, goneAt: Date.now() };
    });
  });
});
