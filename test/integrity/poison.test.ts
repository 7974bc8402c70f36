/**
 * Fault: poison records in the topic (bytes that are not MessagePack, a map that is not an
 * event record, a record keyed by another player) between valid events of the same player,
 * so on the same partition. Each goes to the dead-letter topic with its reason; the
 * partition keeps flowing and the player's state is exactly that of the valid events.
 */
import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { encodeRecord } from '../../protocol/record.ts';
import { assertAppliedOnce } from './checks.ts';
import { useWorld } from './env.ts';
import { integrityKafka, produceRaw, produceRecords, waitConsumed } from './kafka-tools.ts';
import { readPlayerStates, readTopicRecords, scanPlayersWithState } from './readers.ts';
import { expectedStates, generateStream, toRecord } from './stream.ts';
import { startRoles } from '../faults/processes.ts';

describe('poison events in the topic', () => {
  const world = useWorld();

  it('dead-letters each poison record and keeps the partition flowing', async () => {
    const players = ['pp0', 'pp1', 'pp2'];
    const before = generateStream({ players, perPlayer: 30, seed: 41 });
    const after = generateStream({ players, perPlayer: 30, seed: 42 }).map((s) => ({ ...s, event: { ...s.event, id: `${s.event.id}-late` } }));
    const kafka = integrityKafka(world().brokers);
    await produceRecords(kafka, world().topic, before.map((s) => toRecord(s.player, s.event)));
    const poison = [
      Buffer.from([0xc1, 0xff, 0x00, 0x13, 0x37]),
      Buffer.from(encode({ hello: 'not an event record' })),
      Buffer.from(encode({ v: 1, player: 'pp0', id: 'x', type: 'level.up', recvAt: 'yesterday', edge: 'e', session: 's' })),
      Buffer.alloc(0),
    ];
    await produceRaw(kafka, world().topic, 'pp0', poison);
    await produceRaw(kafka, world().topic, 'pp0', [encodeRecord(toRecord('pp1', { id: 'stolen', type: 'level.up', data: { level: 99 } }))]);
    await produceRecords(kafka, world().topic, after.map((s) => toRecord(s.player, s.event)));

    const proc = await startRoles('processors', world().env);
    world().processes.push(proc);
    const admin = kafka.admin();
    await admin.connect();
    await waitConsumed(admin, world().groupId, world().topic);
    await admin.disconnect();

    const dlq = await readTopicRecords(world().brokers, world().deadLetterTopic);
    expect(dlq).toHaveLength(poison.length + 1);
    const reasons = dlq.map((r) => r.headers?.['pp-dlq-reason']).sort();
    expect(reasons).toEqual(['key_mismatch', 'undecodable', 'undecodable', 'undecodable', 'undecodable']);
    for (const r of dlq) expect(r.key).toBe('pp0');

    const expected = expectedStates([...before, ...after]);
    const actual = await readPlayerStates(world().redis, world().keyPrefix, await scanPlayersWithState(world().redis, world().keyPrefix));
    assertAppliedOnce(expected, actual);
    expect(proc.alive()).toBe(true);
    console.log(`poison: ${before.length + after.length} valid events applied exactly; ${dlq.length} poison records dead-lettered (${reasons.join(', ')})`);
  }, 120_000);
});
