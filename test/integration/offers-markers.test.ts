/**
 * The per-player markers that replace growing id sets, against real Redis and Kafka: a
 * decision is marked by its event's Kafka position (one field per partition), a follow-up in
 * its first offer's ledger record, a revenue event by its position too; client resends are
 * skipped by the decider; every key a player's events write expires; decisions older than
 * the few kept in Redis are served from the decision stream.
 */
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafka, keyPartition } from '../../lib/kafka.ts';
import { offerKeys, playerKeys, playerTag } from '../../lib/keys.ts';
import { createLogger } from '../../lib/log.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { playerDecisions } from '../../offers/admin/players.ts';
import { staticBundleSource } from '../../designer/store.ts';
import type { Bundle } from '../../designer/types.ts';
import { createDecider, type ClosableDecider } from '../../offers/engine/decider.ts';
import { DecisionLog, decodeDecisionRecord, readDecisionStream } from '../../offers/engine/decision-log.ts';
import type { DecisionRecord } from '../../offers/engine/explain.ts';
import { decodeDecisionList } from '../../offers/engine/explain-codec.ts';
import { offerIdFor } from '../../offers/engine/hashing.ts';
import { DECISIONS_KEPT, readPlayerLedger } from '../../offers/engine/redis-ops.ts';
import type { AppliedEvent } from '../../processors/decider-seam.ts';
import { decideFollowUp } from '../../offers/jobs/follow-up.ts';
import { applyItems, DEFAULT_SEEN_AGE_MS, DEFAULT_SEEN_MAX } from '../../processors/apply.ts';
import { planFor } from '../../processors/plan.ts';
import { withScripts } from '../../processors/scripts.ts';
import { readPlayerState } from '../../processors/state.ts';
import { cleanupRedisPrefix, testConfig } from '../helpers/stack.ts';
import { readTopic } from '../integrity/readers.ts';
import { HOUR_MS, noonDaysAgo } from '../helpers/time.ts';
import { applied, baseFiles, bundleOf, comebackYaml, loss, REMINDER_YAML } from './offers-fixtures.ts';

const T0 = noonDaysAgo(1);
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function rig(bundle: Bundle, decisionLog?: DecisionLog): Promise<{ redis: RedisClient; prefix: string; decider: ClosableDecider }> {
  const config = testConfig();
  const redis = createRedis(config.redisUrl ?? '', 'test-markers');
  const decider = createDecider({ config, redis, bundles: staticBundleSource(bundle), queues: null, ...(decisionLog ? { decisionLog } : {}) });
  cleanups.push(async () => {
    await decider.close();
    await cleanupRedisPrefix(redis, config.keyPrefix);
    redis.disconnect();
  });
  return { redis, prefix: config.keyPrefix, decider };
}

const at = (e: AppliedEvent, partition: number, offset: number): AppliedEvent => ({ ...e, partition, offset: String(offset) });

/** Every key of a player: KEYS on each master (a player's keys share one slot, so one node holds them all). */
async function playerKeysIn(redis: RedisClient, prefix: string, player: string): Promise<string[]> {
  const pattern = `${playerTag(prefix, player).replace(/[{}]/g, '\\$&')}:*`;
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  return (await Promise.all(nodes.map((n) => n.keys(pattern)))).flat();
}

describe('decided markers', () => {
  it('decides an event at or below its partition marker never again, whatever its id', async () => {
    const r = await rig(bundleOf(baseFiles({ 'comeback.yaml': comebackYaml() })));
    await r.decider.decideBatch([at(loss('m1', T0, 3, 'a'), 2, 100)]);
    expect(await r.redis.hget(playerKeys(r.prefix, 'm1').limits, 'd:2')).toBe('100');
    // Redelivered (same position, even under another id) and older positions: nothing decided.
    await r.decider.decideBatch([at(loss('m1', T0 + 1, 4, 'a-copy'), 2, 100), at(loss('m1', T0 + 2, 5, 'older'), 2, 99)]);
    expect(decodeDecisionList(await r.redis.getBuffer(playerKeys(r.prefix, 'm1').decisions))).toHaveLength(1);
    // Another partition has a marker of its own.
    await r.decider.decideBatch([at(loss('m1', T0 + 3, 6, 'b'), 3, 5)]);
    expect(decodeDecisionList(await r.redis.getBuffer(playerKeys(r.prefix, 'm1').decisions))).toHaveLength(2);
    expect(await r.redis.hgetall(offerKeys(r.prefix).stats('comeback'))).toMatchObject({ 'default|triggered': '2' });
  });

  it('decides each event of a version-2 record (one offset, several positions) once, together or one call at a time', async () => {
    const r = await rig(bundleOf(baseFiles({ 'comeback.yaml': comebackYaml() })));
    const inRecord = (e: AppliedEvent, index: number): AppliedEvent => ({ ...at(e, 1, 100), index });
    const frame = [inRecord(loss('m5', T0, 3, 'f0'), 0), inRecord(loss('m5', T0, 4, 'f1'), 1), inRecord(loss('m5', T0, 5, 'f2'), 2)];
    await r.decider.decideBatch(frame);
    const decisions = () => r.redis.getBuffer(playerKeys(r.prefix, 'm5').decisions).then((b) => decodeDecisionList(b));
    expect((await decisions()).map((d) => d.eventId).sort()).toEqual(['f0', 'f1', 'f2']);
    expect(await r.redis.hget(playerKeys(r.prefix, 'm5').limits, 'd:1')).toBe('100.001953125');
    // Redelivered whole, or one event at a time: nothing decided again.
    await r.decider.decideBatch(frame);
    for (const e of frame) await r.decider.decideBatch([e]);
    expect(await decisions()).toHaveLength(3);

    // A record's events decided over two calls (a chunk's slow path): the second call still decides the rest.
    const split = [inRecord(loss('m6', T0, 3, 's0'), 0), inRecord(loss('m6', T0, 4, 's1'), 1)];
    await r.decider.decideBatch([split[0] as AppliedEvent]);
    await r.decider.decideBatch([split[1] as AppliedEvent]);
    expect((await r.redis.getBuffer(playerKeys(r.prefix, 'm6').decisions).then((b) => decodeDecisionList(b))).map((d) => d.eventId).sort()).toEqual(['s0', 's1']);
  });

  it('skips a client resend (its first copy is the one decided), even at a new offset', async () => {
    const r = await rig(bundleOf(baseFiles({ 'comeback.yaml': comebackYaml() })));
    const first = at(loss('m2', T0, 3, 'x'), 0, 10);
    await r.decider.decideBatch([first]);
    await r.decider.decideBatch([{ ...first, offset: '11', duplicate: true, resent: true }]);
    expect(decodeDecisionList(await r.redis.getBuffer(playerKeys(r.prefix, 'm2').decisions))).toHaveLength(1);
    expect(await r.redis.hgetall(offerKeys(r.prefix).stats('comeback'))).toMatchObject({ 'default|triggered': '1', 'default|offered': '1' });
  });

  it('decides a follow-up once: the first offer\'s ledger record carries the mark', async () => {
    const bundle = bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ followUp: '1h' }), 'reminder.yaml': REMINDER_YAML }));
    const jobs: Parameters<typeof decideFollowUp>[3][] = [];
    const config = testConfig();
    const redis = createRedis(config.redisUrl ?? '', 'test-markers');
    const decider = createDecider({ config, redis, bundles: staticBundleSource(bundle), queues: null, followUps: (j) => jobs.push(j) });
    cleanups.push(async () => {
      await cleanupRedisPrefix(redis, config.keyPrefix);
      redis.disconnect();
    });
    await decider.decideBatch([at(loss('m3', T0, 3, 'f'), 0, 1)]);
    expect(jobs).toHaveLength(1);
    const readState = (id: string, b: Bundle, now: number) => readPlayerState(redis, config.keyPrefix, id, b, now);
    const job = jobs[0] as (typeof jobs)[number];
    const once = await decideFollowUp(decider.context, bundle, readState, job);
    const twice = await decideFollowUp(decider.context, bundle, readState, job);
    expect(once.result === 'offered' || once.result === 'not_offered').toBe(true);
    expect(twice.result).toBe('duplicate');
    const first = (await readPlayerLedger(redis, config.keyPrefix, 'm3')).get(offerIdFor('comeback', 'm3', 'f'));
    expect(first?.followUpAt).toBe(job.dueAt);
  });

  it('attributes a redelivered revenue event once, by its position', async () => {
    const revenue = '{ event: shop.purchase, amount: data.amount, currency: data.currency }';
    const r = await rig(bundleOf(baseFiles({ 'comeback.yaml': comebackYaml() }, { revenue, holdoutPercent: 5 })));
    // A player outside the holdout triggers the rule (a window opens), then spends; the spend is redelivered.
    let player = 'spender-0';
    for (let i = 1; (await import('../../offers/engine/hashing.ts')).inHoldout(player, 5); i += 1) player = `spender-${i}`;
    await r.decider.decideBatch([at(loss(player, T0, 3, 'trig'), 0, 1)]);
    const spend = at(applied(player, 'shop.purchase', { amount: 500, currency: 'EUR' }, T0 + 1_000), 0, 2);
    await r.decider.decideBatch([spend]);
    await r.decider.decideBatch([spend]);
    const stats = await r.redis.hgetall(offerKeys(r.prefix).stats('comeback'));
    const spent = Object.entries(stats).filter(([k]) => k.endsWith('|spend|EUR'));
    expect(spent).toEqual([[expect.any(String), '500']]);
    expect(await r.redis.hget(playerKeys(r.prefix, player).attribution, '|@0')).toBe('2');
  });
});

describe('retention', () => {
  it('leaves no key of a player without an expiry after apply, decisions and responses', async () => {
    const bundle = bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ cooldown: '1h' }) }));
    const r = await rig(bundle);
    const plan = planFor(bundle);
    const apply = withScripts(r.redis);
    const events = [
      { record: { v: 1, player: 'ret', id: 'l1', type: 'match.end', data: { result: 'loss' }, recvAt: T0, edge: 'e', session: 's' }, partition: 0, offset: '1', index: 0 },
      { record: { v: 1, player: 'ret', id: 'l2', type: 'match.end', data: { result: 'loss' }, recvAt: T0 + 1, edge: 'e', session: 's', stream: 'dev', seq: 1 }, partition: 0, offset: '2', index: 0 },
      { record: { v: 1, player: 'ret', id: 'l3', type: 'match.end', data: { result: 'loss' }, recvAt: T0 + 2, edge: 'e', session: 's', stream: 'dev', seq: 2 }, partition: 0, offset: '3', index: 0 },
      { record: { v: 1, player: 'ret', id: 'o1', type: 'store.open', data: {}, recvAt: T0 + 3, edge: 'e', session: 's' }, partition: 0, offset: '4', index: 0 },
    ];
    const out = await applyItems(apply, plan, events, { keyPrefix: r.prefix, seenMax: DEFAULT_SEEN_MAX, seenAgeMs: DEFAULT_SEEN_AGE_MS });
    await r.decider.decideBatch(out.applied);
    const offerId = offerIdFor('comeback', 'ret', 'l3');
    const shown = { record: { v: 1, player: 'ret', id: 's1', type: 'offer.shown', data: { offerId }, recvAt: T0 + 4, edge: 'e', session: 's' }, partition: 0, offset: '5', index: 0 };
    const out2 = await applyItems(apply, plan, [shown], { keyPrefix: r.prefix, seenMax: DEFAULT_SEEN_MAX, seenAgeMs: DEFAULT_SEEN_AGE_MS });
    await r.decider.decideBatch(out2.applied);

    const keys = await playerKeysIn(r.redis, r.prefix, 'ret');
    const k = playerKeys(r.prefix, 'ret');
    // The inbox and offers hash emptied when the offer was shown (Redis deletes empty keys).
    expect(keys.sort()).toEqual([k.state, k.watermark, k.seen, k.limits, k.ledger, k.decisions].sort());
    for (const key of keys) {
      const ttl = await r.redis.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(bundle.policy.retentionMs);
    }
  });
});

describe('an inactive player', () => {
  it('is gone from Redis once the retention has passed since their last write', async () => {
    const compiled = bundleOf(baseFiles({ 'comeback.yaml': comebackYaml() }));
    // The shortest retention a policy accepts is a day; the scripts take any, so the test shortens it.
    const bundle: Bundle = { ...compiled, policy: { ...compiled.policy, retentionMs: 1_500 } };
    const r = await rig(bundle);
    const apply = withScripts(r.redis);
    const events = [1, 2, 3].map((i) => ({
      record: { v: 1, player: 'gone', id: `g${i}`, type: 'match.end', data: { result: 'loss' }, recvAt: T0 + i, edge: 'e', session: 's', stream: 'dev', seq: i },
      partition: 0,
      offset: String(i),
      index: 0,
    }));
    const out = await applyItems(apply, planFor(bundle), events, { keyPrefix: r.prefix, seenMax: DEFAULT_SEEN_MAX, seenAgeMs: DEFAULT_SEEN_AGE_MS });
    await r.decider.decideBatch(out.applied);
    const before = await playerKeysIn(r.redis, r.prefix, 'gone');
    expect(before.length).toBeGreaterThanOrEqual(6);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await r.redis.exists(...before)).toBe(0);
  });
});

describe('the decision stream', () => {
  it(`serves decisions older than the ${DECISIONS_KEPT} kept in Redis from Kafka, newest first`, async () => {
    const config = testConfig();
    const kafka = createKafka(config.kafkaBrokers ?? [], 'test-decision-log');
    const topic = `${config.topics.decisions}-${Date.now()}`;
    const decisionLog = new DecisionLog({ kafka, topic, partitions: 3, retentionMs: 86_400_000, log: createLogger('test-decision-log'), lingerMs: 5 });
    await decisionLog.start();
    cleanups.push(async () => {
      await decisionLog.close();
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    });
    const r = await rig(bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ cooldown: '1m' }) })), decisionLog);
    const total = DECISIONS_KEPT + 4;
    const batch = Array.from({ length: total }, (_, i) => at(loss('auditee', T0 + i * HOUR_MS, 3 + i, `ev-${i}`), 1, 1 + i));
    await r.decider.decideBatch(batch);
    await r.decider.decideBatch([at(loss('someone-else', T0, 3, 'other'), 1, 1)]);
    await decisionLog.flush();

    const read = (player: string, o: { sinceMs: number; beforeMs: number; limit: number }) => readDecisionStream(kafka, topic, player, o);
    const all = await playerDecisions(r.redis, r.prefix, 'auditee', 50, { read, sinceMs: T0 - HOUR_MS });
    expect(all.source).toEqual({ redis: DECISIONS_KEPT, stream: total - DECISIONS_KEPT });
    expect(all.decisions.map((d) => d.eventId)).toEqual(batch.map((e) => e.record.id).reverse());
    expect(all.decisions.every((d) => d.rules[0]?.ruleId === 'comeback')).toBe(true);
    // Redis alone: only the latest few.
    const recent = await playerDecisions(r.redis, r.prefix, 'auditee', 50);
    expect(recent.decisions).toHaveLength(DECISIONS_KEPT);
    // `since` bounds the stream read.
    const bounded = await playerDecisions(r.redis, r.prefix, 'auditee', 50, { read, sinceMs: T0 + 2 * HOUR_MS });
    expect(bounded.decisions.map((d) => d.eventId).at(-1)).toBe('ev-2');
  });
});

describe('the decision stream under a burst', () => {
  it('writes a whole chunk decided at once (thousands of decisions, megabytes) in requests the broker accepts', async () => {
    const config = testConfig();
    const kafka = createKafka(config.kafkaBrokers ?? [], 'test-decision-burst');
    const topic = `${config.topics.decisions}-burst-${Date.now()}`;
    const decisionLog = new DecisionLog({ kafka, topic, partitions: 3, retentionMs: 86_400_000, log: createLogger('test-decision-burst'), lingerMs: 5 });
    await decisionLog.start();
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(async () => {
      await decisionLog.close();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    });
    const n = 10_000;
    const reason = 'x'.repeat(300);
    for (let i = 0; i < n; i += 1) {
      decisionLog.add(`burst-${i % 500}`, { eventId: `b-${i}`, eventType: 'match.end', at: T0 + i, bundleVersion: 1, offerId: null, rules: [{ ruleId: 'comeback', mode: 'live', priority: 1, variant: null, outcome: 'condition_false', reason, values: {} }] });
    }
    await decisionLog.flush();
    const offsets = await admin.fetchTopicOffsets(topic);
    const records = offsets.reduce((sum, o) => sum + Number(o.high), 0);
    // One record per partition and request, not one per decision; every decision is in one of them, once.
    expect(records).toBeGreaterThan(1);
    expect(records).toBeLessThan(n / 10);
    const ids = (await readTopic(config.kafkaBrokers ?? [], topic, (m) => decodeDecisionRecord(m.key, m.value))).flat().map((d) => d.decision.eventId);
    expect(ids).toHaveLength(n);
    expect(new Set(ids).size).toBe(n);
  });

  it('reads the records of every version: one decision per record (1), JSON per partition (2), compact per partition (3, written)', async () => {
    const config = testConfig();
    const kafka = createKafka(config.kafkaBrokers ?? [], 'test-decision-versions');
    const topic = `${config.topics.decisions}-versions-${Date.now()}`;
    const decisionLog = new DecisionLog({ kafka, topic, partitions: 3, retentionMs: 86_400_000, log: createLogger('test-decision-versions'), lingerMs: 5 });
    await decisionLog.start();
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(async () => {
      await decisionLog.close();
      await producer.disconnect();
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    });
    const decision = (id: string, atMs: number): DecisionRecord => ({ eventId: id, eventType: 'match.end', at: atMs, bundleVersion: 1, offerId: null, rules: [] });
    // Version 1, as an older release wrote it: key = player, the decision's JSON, the default partitioner.
    await producer.send({ topic, messages: [{ key: 'veteran', value: JSON.stringify(decision('v1-a', T0)), timestamp: String(T0) }, { key: 'other', value: JSON.stringify(decision('v1-b', T0)), timestamp: String(T0) }] });
    // Version 2, as the previous release wrote it: one JSON record on the player's partition.
    const v2 = (player: string, ...ds: DecisionRecord[]) => ({
      partition: keyPartition(player, 3),
      key: null,
      value: JSON.stringify({ v: 2, decisions: ds.map((d) => ({ player, decision: d })) }),
      timestamp: String(Math.max(...ds.map((d) => d.at))),
    });
    await producer.send({ topic, messages: [v2('veteran', decision('v2-a', T0 + 500), decision('v2-b', T0 + 600)), v2('other', decision('v2-c', T0 + 500))] });
    // Version 3, written now; one with a rule, so its compact bytes are more than the header.
    const full: DecisionRecord = {
      ...decision('v3-a', T0 + 1_000),
      offerId: 'o-1',
      rules: [{ ruleId: 'comeback', mode: 'live', priority: 1, variant: 'a', outcome: 'offered', reason: 'offered', offerId: 'o-1', values: { 'player.losses': 3, 'event.data.result': 'loss' } }],
    };
    decisionLog.add('veteran', full);
    decisionLog.add('other', decision('v3-b', T0 + 1_000));
    decisionLog.add('veteran', decision('v3-c', T0 + 2_000));
    await decisionLog.flush();

    const read = await readDecisionStream(kafka, topic, 'veteran', { sinceMs: T0 - HOUR_MS, beforeMs: T0 + HOUR_MS, limit: 10 });
    expect(read.map((d) => d.eventId)).toEqual(['v3-c', 'v3-a', 'v2-b', 'v2-a', 'v1-a']);
    expect(read[1]).toEqual(full);
    const all = (await readTopic(config.kafkaBrokers ?? [], topic, (m) => decodeDecisionRecord(m.key, m.value))).flat();
    expect(all.map((d) => `${d.player}:${d.decision.eventId}`).sort()).toEqual(['other:v1-b', 'other:v2-c', 'other:v3-b', 'veteran:v1-a', 'veteran:v2-a', 'veteran:v2-b', 'veteran:v3-a', 'veteran:v3-c']);
    // Not ours: nothing, whatever the bytes.
    expect(decodeDecisionRecord(null, Buffer.from('not json'))).toEqual([]);
    expect(decodeDecisionRecord('someone', Buffer.from('{"v":3}'))).toEqual([]);
    expect(decodeDecisionRecord(null, Buffer.from([0x93, 0x04, 0xa1, 0x61]))).toEqual([]);
  });
});

describe('cut-over from the previous layout', () => {
  it('reads a ledger hash of JSON records and an explanation list left by the older version, and replaces them', async () => {
    const r = await rig(bundleOf(baseFiles({ 'comeback.yaml': comebackYaml() })));
    const k = playerKeys(r.prefix, 'old');
    const oldOffer = 'o-old-offer';
    await r.redis.hset(k.ledger, oldOffer, JSON.stringify({ offerId: oldOffer, ruleId: 'comeback', variant: null, eventId: 'e0', sku: 'bundle.comeback', createdAt: T0 - 1_000, expiresAt: T0 + 60_000, price: { amount: 199, currency: 'USD' }, responses: {} }));
    await r.redis.lpush(k.decisions, JSON.stringify({ eventId: 'e0', rules: [] }));
    expect((await readPlayerLedger(r.redis, r.prefix, 'old')).get(oldOffer)?.ruleId).toBe('comeback');
    expect((await playerDecisions(r.redis, r.prefix, 'old', 10)).decisions).toEqual([]);
    await r.decider.decideBatch([at(loss('old', T0, 3, 'new-1'), 0, 1)]);
    expect(await r.redis.type(k.ledger)).toBe('string');
    expect(await r.redis.type(k.decisions)).toBe('string');
    const ledger = await readPlayerLedger(r.redis, r.prefix, 'old');
    expect([...ledger.keys()].sort()).toEqual([oldOffer, offerIdFor('comeback', 'old', 'new-1')].sort());
    expect((await playerDecisions(r.redis, r.prefix, 'old', 10)).decisions.map((d) => d.eventId)).toEqual(['new-1']);
  });
});
