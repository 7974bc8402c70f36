/**
 * The simulated players of the rows that put an edge and a processor under load while a
 * service fails, and the checks every such row ends with. One home for what those rows
 * share: the world on a broker of its own, the pipeline's two role processes, seeded
 * players, and "every event of theirs applied exactly once".
 */
import { afterAll, beforeAll } from 'vitest';
import { signPlayerToken } from '../../edge/auth.ts';
import { assertAppliedOnce, type TopicRecord } from './checks.ts';
import { AUTH_SECRET, createWorld, type World } from './env.ts';
import { integrityKafka, waitConsumed } from './kafka-tools.ts';
import { readPlayerStates, scanPlayersWithState } from './readers.ts';
import { expectedStates, randomEvent, rng } from './stream.ts';
import { startRoles, type RoleProcess } from '../faults/processes.ts';
import { SimulatedPlayer } from '../faults/player.ts';
import type { WireEvent } from '../faults/client.ts';
import { startDedicatedKafka, type DedicatedKafka } from '../faults/services.ts';

/**
 * A World on a single-node broker of its own, for the rows that stop, freeze or kill the
 * broker (the run's shared broker stays up): started before the enclosing `describe`'s
 * tests; afterwards the world is cleaned up and the broker thawed and stopped. Returns an
 * accessor, valid from the first test on.
 */
export function useDedicatedKafkaWorld(env: Record<string, string> = {}): () => { kafka: DedicatedKafka; world: World } {
  let made: { kafka: DedicatedKafka; world: World } | undefined;
  beforeAll(async () => {
    const kafka = await startDedicatedKafka();
    const world = createWorld({ brokers: kafka.brokers, env });
    made = { kafka, world };
    await world.createTopics();
  }, 120_000);
  afterAll(async () => {
    if (!made) return;
    made.kafka.thaw();
    await made.world.cleanup();
    await made.kafka.stop();
  });
  return () => {
    // programmer error: the accessor is for tests, which run after beforeAll
    if (!made) throw new Error('the world is made in beforeAll; use it inside a test');
    return made;
  };
}

/** An edge and a processors process of `world` (stopped by its cleanup) and the edge's WebSocket endpoint. */
export async function startPipeline(world: World): Promise<{ edge: RoleProcess; proc: RoleProcess; url: string }> {
  const [edge, proc] = await Promise.all([startRoles('edge', world.env), startRoles('processors', world.env)]);
  world.processes.push(edge, proc);
  return { edge, proc, url: `ws://127.0.0.1:${edge.healthPort}/v1/play` };
}

export interface PlayersSpec {
  /** Player `i` is `<prefix><i>`; its events are `<player>-e<k>`. */
  readonly prefix: string;
  readonly count: number;
  readonly eventsEach: number;
  /** Seed of the events' random stream: the same seed, the same events. */
  readonly seed: number;
  readonly options: ConstructorParameters<typeof SimulatedPlayer>[4];
  /** Changes each event before it is given to its player (e.g. pads its data). */
  readonly shape?: (event: WireEvent) => WireEvent;
}

/** `spec.count` simulated players on `url`, each with a token of the world's secret and its seeded events. */
export async function simulatedPlayers(url: string, spec: PlayersSpec): Promise<SimulatedPlayer[]> {
  const next = rng(spec.seed);
  const shape = spec.shape ?? ((e: WireEvent) => e);
  const made = Array.from({ length: spec.count }, (_, i) => {
    const id = `${spec.prefix}${i}`;
    return { id, events: Array.from({ length: spec.eventsEach }, (_, k) => shape(randomEvent(next, `${id}-e${k}`))) };
  });
  return Promise.all(made.map(async ({ id, events }) => new SimulatedPlayer(id, await signPlayerToken(AUTH_SECRET, id, 3600), [url], events, spec.options)));
}

/** Every id the edge acked to `players`, with its player and event type. */
export function ackedEvents(players: readonly SimulatedPlayer[]): { player: string; id: string; type: string | undefined }[] {
  return players.flatMap((p) => {
    const types = new Map(p.events.map((e) => [e.id, e.type]));
    return [...p.acked].map((id) => ({ player: p.player, id, type: types.get(id) }));
  });
}

/**
 * Waits until the world's processors have committed the whole events topic, then asserts
 * that every player's state is exactly its events applied once. Players whose name starts
 * with one of `ignore` are left out of the comparison (their state is not predictable).
 *
 * The events are taken in the order the players list them, unless `inKafkaOrder` gives the
 * topic's records: then in the order Kafka holds them, each id once (its first copy), which
 * is the order the processors apply. A client that resends an event refused at the edge
 * after later ones were taken puts it behind them in Kafka; a row with many such refusals
 * (the in-flight bound) needs this order for its order-dependent fields (`last`, streaks).
 */
export async function assertPlayersAppliedOnce(
  world: World,
  players: readonly SimulatedPlayer[],
  opts: { timeoutMs?: number; ignore?: readonly string[]; inKafkaOrder?: readonly TopicRecord[] } = {},
): Promise<{ players: number; fields: number }> {
  const admin = integrityKafka(world.brokers).admin();
  await admin.connect();
  try {
    await waitConsumed(admin, world.groupId, world.topic, opts.timeoutMs ?? 120_000);
  } finally {
    await admin.disconnect();
  }
  const names = new Set(players.map((p) => p.player));
  const expected = expectedStates(
    opts.inKafkaOrder
      ? opts.inKafkaOrder.flatMap((r) =>
          r.record && names.has(r.record.player)
            ? [{ player: r.record.player, event: { id: r.record.id, type: r.record.type, ...(r.record.ts !== undefined ? { ts: r.record.ts } : {}), ...(r.record.data !== undefined ? { data: r.record.data } : {}) } }]
            : [],
        )
      : players.flatMap((p) => p.events.map((event) => ({ player: p.player, event }))),
  );
  const ignore = opts.ignore ?? [];
  const withState = [...(await scanPlayersWithState(world.redis, world.keyPrefix))].filter((p) => !ignore.some((prefix) => p.startsWith(prefix)));
  return assertAppliedOnce(expected, await readPlayerStates(world.redis, world.keyPrefix, withState));
}
