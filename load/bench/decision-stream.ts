/**
 * The decision stream's cost per decision: `node --import tsx load/bench/decision-stream.ts
 * [--decisions 100000] [--rounds 3]`.
 *
 * Decides `--decisions` events of the offers bench (load/bench/offers-engine.ts: 50 rules,
 * 10 event types, real CEL; explanations as the engine shapes them), then, per round, adds
 * every decision to a DecisionLog on a fresh 6-partition topic and flushes it, as the
 * processors do after each chunk's write: each decision with the compact bytes the Redis
 * write already encoded. Reports this process's CPU time (user + system) per decision for
 * the add and the flush (the encode, the partitioner, the Kafka client's encode, checksum and
 * send), the bytes written per decision (the topic's size on the broker is not read: the
 * figure is the records' values), and checks that the topic holds every decision. Finds or
 * starts Kafka (infra/stack.ts); deletes its topics. Prints one JSON line; asserts nothing else.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadConfig, withServices } from '../../lib/config.ts';
import { errorMessage } from '../../lib/errors.ts';
import { createKafka } from '../../lib/kafka.ts';
import { createLogger } from '../../lib/log.ts';
import { resolveStack } from '../../infra/stack.ts';
import { DecisionLog } from '../../offers/engine/decision-log.ts';
import { considerRules, limitVerdicts, liveCandidates } from '../../offers/engine/evaluate.ts';
import { encodeDecision } from '../../offers/engine/explain-codec.ts';
import type { DecisionRecord } from '../../offers/engine/explain.ts';
import { conditionInput } from '../../offers/engine/input.ts';
import type { PlayerCounters } from '../../offers/engine/limits.ts';
import { shapeDecision } from '../../offers/engine/shape.ts';
import { benchBundle } from './offers-engine.ts';

const NO_COUNTERS: PlayerCounters = { rules: new Map(), offersToday: 0, offersDay: null, lastPurchaseAt: null, lastDeclineAt: null };

/** `n` decisions of the offers bench's workload, each with its player and compact bytes. */
function decisions(n: number): { player: string; record: DecisionRecord; compact: Buffer }[] {
  const bundle = benchBundle();
  const at = Date.UTC(2026, 0, 1);
  const out: { player: string; record: DecisionRecord; compact: Buffer }[] = [];
  for (let i = 0; i < n; i += 1) {
    const type = `e${i % 10}.happened`;
    const player = `bench-${i % 5000}`;
    const props: Record<string, number> = {};
    for (let k = 0; k < 10; k += 1) {
      props[`count_e${k}`] = (i * 7 + k) % 9;
      props[`sum_e${k}`] = (i * 13 + k) % 5000;
    }
    const record = { v: 1 as const, player, id: `ev-${i}`, type, data: { value: (i * 37) % 100, kind: ['a', 'b', 'c'][i % 3] }, recvAt: at + i, edge: 'bench', session: 'bench' };
    const state = { id: player, first_seen: at, last_seen: at + i, events_total: i, offers_today: 0, last_purchase_at: null, props };
    const c = considerRules(bundle.rulesByEvent.get(type) ?? [], conditionInput(record, state), player, bundle.policy, record.recvAt);
    const verdicts = limitVerdicts(c, NO_COUNTERS, new Map(), bundle.policy, record.recvAt);
    const winner = liveCandidates(c, verdicts)[0]?.rule.id ?? null;
    const shaped = shapeDecision({ eventId: record.id, eventType: type, at: record.recvAt, bundleVersion: 1, considered: c, verdicts, winner, offerIds: new Map() });
    out.push({ player, record: shaped, compact: encodeDecision(shaped) });
  }
  return out;
}

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { decisions: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' } } });
  const n = Number(values.decisions);
  const rounds = Number(values.rounds);
  const base = loadConfig({ ...process.env, PLAYPULSE_LOG_LEVEL: process.env.PLAYPULSE_LOG_LEVEL ?? 'warn' });
  const stack = await resolveStack(base);
  const config = withServices(base, stack);
  const kafka = createKafka(config.kafkaBrokers ?? [], 'bench-decision-stream');
  const admin = kafka.admin();
  await admin.connect();
  const topics: string[] = [];
  const runs: { cpuUsPerDecision: number; bytesPerDecision: number; seconds: number }[] = [];
  try {
    const all = decisions(n);
    for (let r = 0; r < rounds; r += 1) {
      const topic = `bench-decisions-${randomBytes(4).toString('hex')}`;
      topics.push(topic);
      const log = new DecisionLog({ kafka, topic, partitions: 6, retentionMs: 3_600_000, log: createLogger('bench-decision-stream'), lingerMs: 50 });
      await log.start();
      const t0 = performance.now();
      const c0 = cpuUs();
      // As after each chunk's write: a chunk's decisions added together, then flushed.
      for (let i = 0; i < all.length; i += 1_000) {
        for (const d of all.slice(i, i + 1_000)) log.add(d.player, d.record, d.compact);
        await log.flush();
      }
      const cpu = cpuUs() - c0;
      const seconds = (performance.now() - t0) / 1000;
      await log.close();
      const offsets = await admin.fetchTopicOffsets(topic);
      const records = offsets.reduce((s, o) => s + Number(o.high), 0);
      const bytes = await valueBytes(kafka, topic, records);
      runs.push({ cpuUsPerDecision: Math.round((cpu / n) * 100) / 100, bytesPerDecision: Math.round(bytes.bytes / n), seconds: Math.round(seconds * 100) / 100 });
      // programmer error: the bench's own check that the stream holds every decision
      if (bytes.decisions !== n) throw new Error(`topic holds ${bytes.decisions} decisions, expected ${n}`);
      process.stderr.write(`round ${r + 1}: ${JSON.stringify(runs.at(-1))}\n`);
    }
  } finally {
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
    await stack.stop();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  process.stdout.write(`${JSON.stringify({ decisions: n, rounds: runs, median: { cpuUsPerDecision: median(runs.map((x) => x.cpuUsPerDecision)), bytesPerDecision: median(runs.map((x) => x.bytesPerDecision)) } })}\n`);
}

/** The total size of the topic's record values and the decisions they hold (every version, decodeDecisionRecord). */
async function valueBytes(kafka: ReturnType<typeof createKafka>, topic: string, records: number): Promise<{ bytes: number; decisions: number }> {
  const { decodeDecisionRecord } = await import('../../offers/engine/decision-log.ts');
  const consumer = kafka.consumer({ groupId: `bench-read-${randomBytes(4).toString('hex')}` });
  let bytes = 0;
  let decided = 0;
  let seen = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        bytes += message.value?.length ?? 0;
        decided += decodeDecisionRecord(message.key, message.value).length;
        seen += 1;
        if (seen >= records) resolve();
      },
    });
  });
  await consumer.disconnect();
  return { bytes, decisions: decided };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`decision stream bench failed: ${errorMessage(err)}\n`);
      process.exit(1);
    },
  );
}
