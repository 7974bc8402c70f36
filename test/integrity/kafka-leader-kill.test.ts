/**
 * Fault: SIGKILL the leader of a partition that carries traffic, in a 3-node KRaft cluster
 * running the broker and topic settings of deploy/cluster-settings.json (replication 3,
 * min.insync.replicas 2, no unclean leader election), while clients send. This is the
 * failure Jepsen found in Kafka when the in-sync replica set may shrink to the leader alone:
 * the leader acks what no other replica has, dies, and a replica without those records
 * takes over. With acks from all in-sync replicas (the edge's idempotent producer, acks -1),
 * at least two in-sync replicas required and only in-sync replicas electable, every acked
 * event is on a surviving replica. Checked here: every acked event is in Kafka after the
 * election (read while the killed node is still down, and again once it has rejoined); the
 * edge acks again (the stall is measured and logged, asserted only against a generous
 * bound); processors go on and the final state is each event applied exactly once; the
 * restarted node catches up (in-sync replicas back to 3).
 *
 * The cluster is this test's own (infra/kafka-cluster.ts), not the run's shared broker;
 * Redis is the run's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigResourceTypes, Partitioners, type Admin } from 'kafkajs';
import { signPlayerToken } from '../../edge/auth.ts';
import { startKafkaCluster, type LocalKafkaCluster, type PartitionPlacement } from '../../infra/kafka-cluster.ts';
import { assertAppliedOnce, assertNoLostAcks, type AckedEvent } from './checks.ts';
import { AUTH_SECRET, createWorld, type World } from './env.ts';
import { highWatermarks, integrityKafka, waitConsumed } from './kafka-tools.ts';
import { readPlayerStates, readTopicRecords, scanPlayersWithState } from './readers.ts';
import { expectedStates, randomEvent, rng } from './stream.ts';
import { startRoles, waitFor } from '../faults/processes.ts';
import { SimulatedPlayer } from '../faults/player.ts';
import { scrape, sumOf } from '../faults/metrics.ts';

const SOAK = process.env.PLAYPULSE_SOAK === '1';
const PLAYERS = SOAK ? 200 : 30;
const EVENTS_PER_PLAYER = SOAK ? 1_000 : 150;
/** Acking must come back well before this after the kill (the figure itself is logged, not asserted). */
const RESUME_BOUND_MS = 60_000;
const SOAK_TIMEOUT_MS = SOAK ? 3_600_000 : undefined;

/** The partition kafkajs' default (murmur2, Java-compatible) partitioner gives `key`, as the edge's producer does. */
function partitionOf(key: string, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, partitionErrorCode: 0, leader: 0, replicas: [], isr: [] }));
  return partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
}

async function topicConfig(admin: Admin, topic: string): Promise<Record<string, string>> {
  const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
  return Object.fromEntries((resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
}

describe('kill -9 the leader of a partition of a 3-node Kafka cluster while clients send', () => {
  let cluster: LocalKafkaCluster;
  let world: World;
  let admin: Admin;
  beforeAll(async () => {
    cluster = await startKafkaCluster({ quickStart: true });
    const { topics } = cluster.settings;
    world = createWorld({ brokers: cluster.brokers, env: { PLAYPULSE_PARTITIONS: String(topics.partitions) } });
    admin = integrityKafka(cluster.brokers).admin();
    await admin.connect();
    const configEntries = Object.entries(topics.config).map(([name, value]) => ({ name, value: String(value) }));
    await admin.createTopics({
      waitForLeaders: true,
      topics: [world.topic, world.deadLetterTopic].map((topic) => ({ topic, numPartitions: topics.partitions, replicationFactor: topics.replicas, configEntries })),
    });
  }, 180_000);
  afterAll(async () => {
    await admin?.disconnect().catch(() => undefined);
    await world?.cleanup();
    await cluster?.stop();
  });

  it('loses no acked event, acks again after the election, applies every event once, and heals', async () => {
    const t0 = Date.now();
    const { settings } = cluster;
    const config = await topicConfig(admin, world.topic);
    expect(config).toMatchObject({ 'min.insync.replicas': '2', 'unclean.leader.election.enable': 'false' });
    expect((await cluster.placement(world.topic)).every((p) => p.replicas.length === 3 && p.isr.length === 3)).toBe(true);

    const [edge, proc] = await Promise.all([startRoles('edge', world.env), startRoles('processors', world.env)]);
    world.processes.push(edge, proc);
    const url = `ws://127.0.0.1:${edge.healthPort}/v1/play`;
    const next = rng(73);
    const players = await Promise.all(
      Array.from({ length: PLAYERS }, async (_, i) => {
        const id = `pleader${i}`;
        const events = Array.from({ length: EVENTS_PER_PLAYER }, (_, k) => randomEvent(next, `${id}-e${k}`));
        return new SimulatedPlayer(id, await signPlayerToken(AUTH_SECRET, id, 3600), [url], events, { window: 20, batch: 5, pauseMs: 20 });
      }),
    );
    const running = players.map((p) => p.run(SOAK_TIMEOUT_MS ?? 150_000));
    const total = PLAYERS * EVENTS_PER_PLAYER;
    const acked = (of: readonly SimulatedPlayer[] = players) => of.reduce((n, p) => n + p.acked.size, 0);
    await waitFor('30% of the events to be acked', () => (acked() >= total * 0.3 ? true : undefined), 90_000, 20);

    // The partition that took the most records so far carries traffic; its leader goes.
    const high = await highWatermarks(admin, world.topic);
    const [busiest] = [...high].sort((a, b) => Number(b[1] - a[1]));
    if (!busiest) throw new Error('the events topic has no partitions');
    const before = await cluster.placement(world.topic);
    const victim = before.find((p) => p.partition === busiest[0])?.leader ?? -1;
    expect(victim).toBeGreaterThan(0);
    const ledByVictim = new Set(before.filter((p) => p.leader === victim).map((p) => p.partition));
    const affected = players.filter((p) => ledByVictim.has(partitionOf(p.player, settings.topics.partitions)));
    expect(affected.length).toBeGreaterThan(0);

    // Every change of the affected players' ack count, timed, to find how long acking stalled.
    const progress: number[] = [];
    let lastAffected = acked(affected);
    const sampler = setInterval(() => {
      const n = acked(affected);
      if (n > lastAffected) {
        lastAffected = n;
        progress.push(Date.now());
      }
    }, 20);
    const ackedAtKill = acked();
    const affectedAtKill = acked(affected);
    const killedAt = Date.now();
    await cluster.kill(victim);

    const election = await waitFor(
      `a new leader for the partitions node ${victim} led`,
      async () => {
        const now = await cluster.placement(world.topic).catch(() => [] as PartitionPlacement[]);
        const moved = now.filter((p) => ledByVictim.has(p.partition));
        return moved.length === ledByVictim.size && moved.every((p) => p.leader > 0 && p.leader !== victim) ? { at: Date.now(), placement: now } : undefined;
      },
      60_000,
      100,
    );
    // No unclean election: the new leaders come from the in-sync set, which never drops below min.insync.replicas.
    for (const p of election.placement) {
      expect(p.isr).not.toContain(victim);
      expect(p.isr.length).toBeGreaterThanOrEqual(Number(settings.topics.config['min.insync.replicas']));
    }
    // Acked again after the election (or done already: the metadata poll itself can lag the election on a busy machine).
    const resumed = () => progress.some((t) => t > election.at) || affected.every((p) => p.done);
    await waitFor('the affected players to be acked again after the election', () => (resumed() ? true : undefined), RESUME_BOUND_MS, 50).catch(
      (err: unknown) => {
        const edgeWarnings = edge.output().split('\n').filter((l) => /"level":(40|50)/.test(l)).slice(-12).map((l) => l.slice(0, 400));
        throw new Error(
          `${(err as Error).message}: affected players acked ${acked(affected)} of ${affected.length * EVENTS_PER_PLAYER} (${affectedAtKill} at the kill), ` +
            `all players ${acked()} of ${total}; edge alive ${edge.alive()}; last edge warnings:\n${edgeWarnings.join('\n')}`,
        );
      },
    );
    const ackedAfterElection = acked(affected) - affectedAtKill;

    await Promise.all(running);
    clearInterval(sampler);
    expect(edge.alive()).toBe(true);
    expect(proc.alive()).toBe(true);
    const stall = [killedAt, ...progress.filter((t) => t >= killedAt)].reduce(
      (acc, t, i, all) => (i === 0 ? acc : Math.max(acc, t - (all[i - 1] as number))),
      0,
    );
    expect(stall).toBeLessThan(RESUME_BOUND_MS);

    // Read while the killed node is still down: what was acked is on the survivors.
    const ackedIds: AckedEvent[] = players.flatMap((p) => [...p.acked].map((id) => ({ player: p.player, id })));
    expect(ackedIds).toHaveLength(total);
    const records = await readTopicRecords(world.brokers, world.topic);
    const lost = assertNoLostAcks(ackedIds, records);
    expect(lost.acked).toBe(total);

    await waitConsumed(admin, world.groupId, world.topic, SOAK_TIMEOUT_MS ?? 120_000);
    const expected = expectedStates(players.flatMap((p) => p.events.map((event) => ({ player: p.player, event }))));
    const actual = await readPlayerStates(world.redis, world.keyPrefix, await scanPlayersWithState(world.redis, world.keyPrefix));
    assertAppliedOnce(expected, actual);

    // The killed node comes back from its data, catches up and rejoins every in-sync set.
    const restartedAt = Date.now();
    await cluster.restart(victim);
    await waitFor(
      'every partition to have 3 in-sync replicas again',
      async () => ((await cluster.placement(world.topic).catch(() => [])).every((p) => p.isr.length === 3) ? true : undefined),
      60_000,
      250,
    );
    const healMs = Date.now() - restartedAt;
    const afterHeal = await readTopicRecords(world.brokers, world.topic);
    assertNoLostAcks(ackedIds, afterHeal);
    expect(afterHeal.length).toBeGreaterThanOrEqual(records.length);

    const replacements = sumOf(await scrape(edge.healthPort), 'playpulse_kafka_producer_replacements_total');
    // Sends kafkajs reported written although a partition had no answer (lib/kafka.ts DurableProducer), refused instead.
    const unanswered = edge.output().split('\n').filter((l) => l.includes('did not answer for') && l.includes('replaced the idempotent producer')).length;
    const sum = (f: (p: SimulatedPlayer) => number) => players.reduce((n, p) => n + f(p), 0);
    console.log(
      `Kafka leader kill -9 (3 nodes, RF ${settings.topics.replicas}, min ISR ${String(settings.topics.config['min.insync.replicas'])}): ` +
        `${PLAYERS} players, ${total} distinct events; sent ${sum((p) => p.stats.eventsSent)} (resent ${sum((p) => p.stats.resent)}, unavailable ${sum((p) => p.stats.unavailable)}); ` +
        `acked ${lost.acked} (${ackedAtKill} before the kill); records in Kafka ${records.length} (${records.length - total} copies of refused events, resent); applied ${total}; ` +
        `killed node ${victim}, leader of partitions ${[...ledByVictim].join(',')} (${affected.length} players on them, ${ackedAfterElection} of their events acked from the kill to the first ack after the election); ` +
        `new leaders after ${election.at - killedAt} ms; longest ack stall of those players ${stall} ms; producer replaced ${replacements}× (${unanswered} sends with a partition unanswered); ` +
        `restarted node back in sync after ${healMs} ms; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, SOAK_TIMEOUT_MS ?? 240_000);
});
