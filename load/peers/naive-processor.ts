/**
 * THE COMPARISON BASELINE of the processor benchmark — not part of PlayPulse, never run by
 * it. A processor written the way many teams first write one: kafkajs `eachMessage`, and for
 * every event one awaited Redis round trip per matching property (plus one for the event
 * count), with no watermark and no event-id check (so it is neither idempotent nor atomic).
 * load/bench/processors-throughput.ts runs it on the same events as ours and reports the ratio.
 *
 * As a script: `node --import tsx load/peers/naive-processor.ts --topic <t> --prefix <keyPrefix>
 * --expect <n> [--group <id>] [--rules <dir>]` drains the topic from the start and prints one
 * JSON line `{ name, events, seconds, eventsPerSec }`. KAFKA_BROKERS and REDIS_URL as usual.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { Kafka } from 'kafkajs';
import { loadConfig } from '../../lib/config.ts';
import { createKafka } from '../../lib/kafka.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { compileBundle } from '../../designer/compile.ts';
import { readBundleDir } from '../../designer/load.ts';
import type { Bundle } from '../../designer/types.ts';
import { decodeRecord, type EventRecord } from '../../protocol/record.ts';
import { conditionInput, readPath } from '../../processors/extract.ts';
import { PlayPulseError, errorMessage } from '../../lib/errors.ts';

export interface NaiveOptions {
  readonly kafka: Kafka;
  readonly redis: RedisClient;
  readonly topic: string;
  readonly groupId: string;
  readonly keyPrefix: string;
  readonly bundle: Bundle;
  readonly concurrency?: number;
  /** Called after each event is fully written. */
  readonly onEvent?: () => void;
}

/**
 * The naive apply of one event: its player's hash `<keyPrefix>:naive:<player>`, one awaited
 * Redis command for the event count and one per matching property (windowed ones in
 * buckets, never expired). Shared with the naive per-event decide peer (naive-decider.ts).
 */
export async function applyNaive(r: RedisClient, keyPrefix: string, bundle: Bundle, record: EventRecord): Promise<void> {
  const key = `${keyPrefix}:naive:${record.player}`;
  await r.hincrby(key, 'events_total', 1);
  for (const p of bundle.propertiesByEvent.get(record.type) ?? []) {
    const ok = p.when ? p.when.evaluate(conditionInput(record)).value : true;
    const raw = p.field ? readPath(record, p.field) : undefined;
    const bucket = p.windowMs ? `:${Math.floor(record.recvAt / Math.ceil(p.windowMs / 60))}` : '';
    if (p.kind === 'streak') {
      if (ok) await r.hincrby(key, p.name, 1);
      else await r.hset(key, p.name, 0);
    } else if (!ok) {
      continue;
    } else if (p.kind === 'count') {
      await r.hincrby(key, `${p.name}${bucket}`, 1);
    } else if (p.kind === 'sum' && typeof raw === 'number') {
      await r.hincrbyfloat(key, `${p.name}${bucket}`, raw);
    } else if (p.kind === 'last' && raw !== undefined) {
      await r.hset(key, p.name, String(raw));
    } else if ((p.kind === 'max' || p.kind === 'min') && typeof raw === 'number') {
      const cur = Number(await r.hget(key, p.name));
      if (Number.isNaN(cur) || (p.kind === 'max' ? raw > cur : raw < cur)) await r.hset(key, p.name, raw);
    }
  }
}

/** Starts the naive consumer; resolves once it runs. */
export async function startNaive(opts: NaiveOptions): Promise<{ stop(): Promise<void> }> {
  const consumer = opts.kafka.consumer({ groupId: opts.groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
  const r = opts.redis;
  await consumer.run({
    partitionsConsumedConcurrently: opts.concurrency ?? 4,
    eachMessage: async ({ message }) => {
      let record;
      try {
        record = decodeRecord(message.value);
      } catch {
        return;
      }
      await applyNaive(r, opts.keyPrefix, opts.bundle, record);
      opts.onEvent?.();
    },
  });
  return { stop: () => consumer.disconnect() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { topic: { type: 'string' }, prefix: { type: 'string' }, expect: { type: 'string' }, group: { type: 'string' }, rules: { type: 'string' } },
  });
  const config = loadConfig();
  const expected = Number(values.expect);
  if (!values.topic || !values.prefix || !Number.isInteger(expected) || expected <= 0) {
    throw new PlayPulseError('CONFIG_INVALID', 'usage: naive-processor.ts --topic <t> --prefix <keyPrefix> --expect <n> [--group <id>] [--rules <dir>]');
  }
  const compiled = compileBundle(readBundleDir(resolve(values.rules ?? config.rulesDir)));
  if (!compiled.ok) throw new PlayPulseError('CONFIG_INVALID', 'the rules folder does not compile');
  const kafka = createKafka(config.kafkaBrokers ?? ['127.0.0.1:9092'], 'playpulse-naive');
  const redis = createRedis(config.redisUrl ?? 'redis://127.0.0.1:6379', 'naive');
  let n = 0;
  let first = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const t0 = Date.now();
  const naive = await startNaive({
    kafka,
    redis,
    topic: values.topic,
    groupId: values.group ?? `naive-${randomBytes(4).toString('hex')}`,
    keyPrefix: values.prefix,
    bundle: compiled.bundle,
    onEvent: () => {
      if (n === 0) first = Date.now();
      n += 1;
      if (n === expected) done();
    },
  });
  await finished;
  const seconds = (Date.now() - (first || t0)) / 1000;
  await naive.stop();
  redis.disconnect();
  process.stdout.write(`${JSON.stringify({ name: 'naive', events: n, seconds, eventsPerSec: Math.round(n / Math.max(seconds, 0.001)) })}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${errorMessage(err)}\n`);
      process.exit(1);
    },
  );
}
