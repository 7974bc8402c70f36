/**
 * Resent events are counted once (docs/contract.md §3, "Resending an acked id is harmless"; docs/protocol.md, "Resends and
 * de-duplication"), against the real stack: edges and processors as their own processes on
 * the run's Kafka and Redis, and a raw `ws` + @msgpack/msgpack client that is one stream
 * (`?stream=`) and numbers its events with `seq` as the SDK does. One player sends 5,000
 * `match.end` events (counted by the `matches_played` count property) and resends every one
 * of them, with the same stream and seq, on a new socket:
 *
 *   1. after all of them were acked (the acks were lost to the game, not to the edge);
 *   2. after the socket was cut before any ack arrived (all of them reached Kafka anyway);
 *   3. as 2, with the new socket on a second edge instance;
 *   4. as 2, with the processor SIGKILLed half-way through the resend and started again
 *      while the rest of the resend goes on.
 *
 * Kafka then holds every event twice; the player's state must hold each once:
 * `matches_played` and `events_total` are exactly 5,000.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { signPlayerToken } from '../../edge/auth.ts';
import { TestClient, type WireEvent } from '../faults/client.ts';
import { scrape, sumOf } from '../faults/metrics.ts';
import { startRoles, waitFor, type RoleProcess } from '../faults/processes.ts';
import { AUTH_SECRET, useWorld, type World } from '../integrity/env.ts';
import { integrityKafka, waitConsumed } from '../integrity/kafka-tools.ts';
import { readPlayerStates, readTopicRecords } from '../integrity/readers.ts';
import { RULES_DIR } from '../integrity/stream.ts';
import { startProcessorChild, type ProcessorChild } from './processors-fixtures.ts';

const EVENTS = 5_000;
const PER_FRAME = 250;
/** Unacked events a client keeps in flight while it waits for acks. */
const IN_FLIGHT = 1_000;
/** Only de-duplication is under test: the edge's rate and in-flight limits stay out of the way. */
const EDGE_ENV = {
  PLAYPULSE_RATE_PER_SEC: '1000000',
  PLAYPULSE_RATE_BURST: '1000000',
  PLAYPULSE_INFLIGHT_BYTES_PER_CONN: String(64 * 1024 * 1024),
};
const SESSION_TIMEOUT_MS = '8000';

const processors: ProcessorChild[] = [];

afterEach(async () => {
  for (const p of processors.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  }
});

/** Event i of the player's stream: seq i + 1, the same on every resend. */
function streamEvents(player: string): WireEvent[] {
  return Array.from({ length: EVENTS }, (_, i) => ({ id: `${player}-m${i}`, type: 'match.end', data: { result: i % 2 === 0 ? 'win' : 'draw' }, seq: i + 1 }));
}

async function startEdge(world: World, name: string): Promise<RoleProcess> {
  const edge = await startRoles('edge', { ...world.env, ...EDGE_ENV, PLAYPULSE_INSTANCE_ID: name });
  world.processes.push(edge);
  return edge;
}

async function startProcessor(world: World): Promise<ProcessorChild> {
  const p = await startProcessorChild(world.config, RULES_DIR, { PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS: SESSION_TIMEOUT_MS });
  processors.push(p);
  return p;
}

const edgeUrl = (edge: RoleProcess) => `ws://127.0.0.1:${edge.healthPort}/v1/play`;

async function connect(edge: RoleProcess, player: string, stream: string, paused = false): Promise<TestClient> {
  const c = await TestClient.connect(edgeUrl(edge), await signPlayerToken(AUTH_SECRET, player, 3600), { stream, paused, timeoutMs: 15_000 });
  if (!paused) expect(c.hello).toMatchObject({ player, stream });
  return c;
}

/** Sends every event in frames, at most IN_FLIGHT unacked; resolves once all are acked on this socket. */
async function sendAcked(c: TestClient, events: readonly WireEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += PER_FRAME) {
    await c.until(() => i - c.acked.size <= IN_FLIGHT || c.errors.length > 0 || !c.open, 60_000);
    expect(c.errors).toEqual([]);
    c.sendEvents(events.slice(i, i + PER_FRAME));
  }
  await c.until(() => events.every((e) => c.acked.has(e.id)) || c.errors.length > 0 || !c.open, 60_000);
  expect(c.errors).toEqual([]);
  expect(events.filter((e) => !c.acked.has(e.id))).toEqual([]);
}

/**
 * Sends every event on a socket that reads nothing (so no ack reaches the client), waits
 * until the edge has them all in Kafka, then cuts the socket.
 */
async function sendThenCut(c: TestClient, edge: RoleProcess, events: readonly WireEvent[]): Promise<void> {
  const produced = async () => sumOf(await scrape(edge.healthPort), 'playpulse_edge_events_produced_total');
  const before = await produced();
  for (let i = 0; i < events.length; i += PER_FRAME) c.sendEvents(events.slice(i, i + PER_FRAME));
  await waitFor(`the edge to produce all ${events.length} events`, async () => ((await produced()) - before >= events.length ? true : undefined), 60_000, 50);
  expect(c.acked.size).toBe(0);
  c.terminate();
  await c.closed;
}

/** Events in the topic, each copy counted (a record holds a frame's events). */
async function eventsInTopic(world: World): Promise<number> {
  return (await readTopicRecords(world.brokers, world.topic)).filter((r) => r.record !== null).length;
}

/** Kafka holds each event twice; once the group consumed it all, the player's state counts each once. */
async function expectCountedOnce(world: World, player: string): Promise<void> {
  const admin = integrityKafka(world.brokers).admin();
  await admin.connect();
  try {
    expect(await eventsInTopic(world)).toBe(2 * EVENTS);
    await waitConsumed(admin, world.groupId, world.topic, 120_000);
  } finally {
    await admin.disconnect();
  }
  const state = (await readPlayerStates(world.redis, world.keyPrefix, [player])).get(player) ?? {};
  expect({ matches_played: state['p:matches_played:count'], events_total: state.events_total }).toEqual({ matches_played: EVENTS, events_total: EVENTS });
}

describe('resend of 5,000 acked events on a new socket', () => {
  const world = useWorld();

  it('counts each event once', async () => {
    const player = 'resend-acked';
    const stream = 'stream-acked';
    const [edge] = await Promise.all([startEdge(world(), 'edge-a'), startProcessor(world())]);
    const events = streamEvents(player);
    const first = await connect(edge, player, stream);
    await sendAcked(first, events);
    first.close();
    await first.closed;
    const second = await connect(edge, player, stream);
    await sendAcked(second, events);
    second.close();
    await expectCountedOnce(world(), player);
  }, 180_000);
});

describe('resend of 5,000 events after the socket was cut before the acks', () => {
  const world = useWorld();

  it('counts each event once', async () => {
    const player = 'resend-cut';
    const stream = 'stream-cut';
    const [edge] = await Promise.all([startEdge(world(), 'edge-a'), startProcessor(world())]);
    const events = streamEvents(player);
    await sendThenCut(await connect(edge, player, stream, true), edge, events);
    const second = await connect(edge, player, stream);
    await sendAcked(second, events);
    second.close();
    await expectCountedOnce(world(), player);
  }, 180_000);
});

describe('resend of 5,000 events on a second edge after the socket was cut before the acks', () => {
  const world = useWorld();

  it('counts each event once', async () => {
    const player = 'resend-other-edge';
    const stream = 'stream-other-edge';
    const [edgeA, edgeB] = await Promise.all([startEdge(world(), 'edge-a'), startEdge(world(), 'edge-b'), startProcessor(world())]);
    const events = streamEvents(player);
    await sendThenCut(await connect(edgeA, player, stream, true), edgeA, events);
    const second = await connect(edgeB, player, stream);
    await sendAcked(second, events);
    second.close();
    await expectCountedOnce(world(), player);
  }, 180_000);
});

describe('resend of 5,000 events with the processor SIGKILLed half-way', () => {
  const world = useWorld();

  it('counts each event once after the processor is started again', async () => {
    const player = 'resend-kill';
    const stream = 'stream-kill';
    const [edge, first] = await Promise.all([startEdge(world(), 'edge-a'), startProcessor(world())]);
    const events = streamEvents(player);
    await sendThenCut(await connect(edge, player, stream, true), edge, events);
    const second = await connect(edge, player, stream);
    await sendAcked(second, events.slice(0, EVENTS / 2));
    first.child.kill('SIGKILL');
    await first.exited;
    expect(first.child.signalCode).toBe('SIGKILL');
    const restarted = startProcessor(world());
    await sendAcked(second, events.slice(EVENTS / 2));
    second.close();
    await restarted;
    await expectCountedOnce(world(), player);
  }, 240_000);
});
