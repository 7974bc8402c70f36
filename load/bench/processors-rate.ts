/**
 * Processors at a fixed offered rate: `node --import tsx load/bench/processors-rate.ts
 * [--steps 1x200,10x1000,100x2000] [--seconds 20] [--players 2000] [--profile DIR]`.
 *
 * Where the throughput bench (processors-throughput.ts) drains a topic filled beforehand, so
 * every chunk is as large as a fetch allows, this one writes records at a fixed rate while
 * the processors consume them, as a live game does: at a rate they keep up with, each fetch
 * brings what arrived since the last one, and a chunk is a record or two. It reports, per
 * step, what the processors role's process spent (CPU time from /proc, so the figure is the
 * kernel's), per event and per chunk, from the chunks it counted itself
 * (playpulse_processor_batch_size_*).
 *
 * A step `FxR` writes version-2 records of F events (one client frame each) at R events/s,
 * the sample game's event mix (load/scenarios/events.ts) for `players` fresh players, with
 * the sample rules live (load/bench/rules.ts, as `npm run bench` runs them). The processors
 * role runs as it is deployed (bin/start.ts --role processors, its Node flags), on a topic
 * and key prefix of its own, deleted afterwards. Finds or starts Kafka and Redis
 * (infra/stack.ts). Prints a table and one JSON line. Loopback only; nothing is asserted.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, withServices } from '../../lib/config.ts';
import { PlayPulseError, errorMessage } from '../../lib/errors.ts';
import { createDurableProducer, createKafka } from '../../lib/kafka.ts';
import { createRedis, deleteKeysUnder } from '../../lib/redis.ts';
import { sleep } from '../../lib/time.ts';
import { freePort } from '../../infra/ports.ts';
import { resolveStack } from '../../infra/stack.ts';
import { nodeFlagsFor } from '../../bin/node-flags.ts';
import { encodeFrameRecord, frameRecordHeaders, type RecordEvent } from '../../protocol/record.ts';
import { createEventSource } from '../scenarios/events.ts';
import { cpuMs, scrapeMetric, startNode, waitReady } from './procs.ts';
import { writeBenchRules } from './rules.ts';

export interface RateStep {
  /** Events per record (client frame). */
  readonly frame: number;
  /** Events offered per second. */
  readonly rate: number;
}

export interface RateFigures extends RateStep {
  readonly events: number;
  readonly chunks: number;
  readonly eventsPerChunk: number;
  /** The processors' process over the step, until it had processed every event written. */
  readonly cpuMs: number;
  readonly cpuPct: number;
  readonly cpuUsPerEvent: number;
  readonly cpuUsPerChunk: number;
  /** Whether the processors had every event of the step within 30 s of the last write. */
  readonly drained: boolean;
}

/** `1x200,10x1000` → steps; a clear error for anything else. */
export function parseSteps(text: string): RateStep[] {
  return text.split(',').map((part) => {
    const m = /^\s*(\d+)x(\d+)\s*$/.exec(part);
    const frame = Number(m?.[1]);
    const rate = Number(m?.[2]);
    if (!m || frame < 1 || frame > 1024 || rate < 1) throw new PlayPulseError('CONFIG_INVALID', `--steps: "${part}" is not <events per frame (1..1024)>x<events per second>`);
    return { frame, rate };
  });
}

/** Figures of one step from the counters read before and after it. */
export function stepFigures(step: RateStep, before: { cpu: number; sum: number; count: number }, after: { cpu: number; sum: number; count: number }, wallMs: number, drained: boolean): RateFigures {
  const events = after.sum - before.sum;
  const chunks = after.count - before.count;
  const cpu = after.cpu - before.cpu;
  return {
    ...step,
    events,
    chunks,
    eventsPerChunk: chunks > 0 ? Math.round((events / chunks) * 10) / 10 : 0,
    cpuMs: Math.round(cpu),
    cpuPct: wallMs > 0 ? Math.round((100 * cpu) / wallMs) : 0,
    cpuUsPerEvent: events > 0 ? Math.round((cpu * 1000) / events) : 0,
    cpuUsPerChunk: chunks > 0 ? Math.round((cpu * 1000) / chunks) : 0,
    drained,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '1x200,10x1000,100x2000' },
      seconds: { type: 'string', default: '20' },
      players: { type: 'string', default: '2000' },
      profile: { type: 'string' },
    },
  });
  const steps = parseSteps(values.steps);
  const seconds = Number(values.seconds);
  const players = Number(values.players);
  if (!(seconds > 0) || !(players >= 1)) throw new PlayPulseError('CONFIG_INVALID', '--seconds and --players take positive numbers');

  const id = randomBytes(4).toString('hex');
  const env = { ...process.env, PLAYPULSE_TOPIC_PREFIX: `rate-${id}.`, PLAYPULSE_KEY_PREFIX: `rate-${id}`, PLAYPULSE_LOG_LEVEL: 'warn', PLAYPULSE_LOG_PRETTY: '0' };
  const base = loadConfig(env);
  const stack = await resolveStack(base);
  const config = withServices(base, stack);
  const dir = mkdtempSync(join(tmpdir(), 'playpulse-rate-'));
  const kafka = createKafka(stack.kafkaBrokers, 'playpulse-bench-rate');
  const producer = createDurableProducer(kafka);
  const redis = createRedis(stack.redisUrl, 'bench-rate');
  const health = await freePort();
  const proc = startNode({
    name: 'processors',
    script: 'bin/start.ts',
    args: ['--role', 'processors'],
    env: { ...env, KAFKA_BROKERS: stack.kafkaBrokers.join(','), REDIS_URL: stack.redisUrl, HEALTH_PORT: String(health), PLAYPULSE_RULES_DIR: writeBenchRules('offers/rules', join(dir, 'rules')) },
    logDir: dir,
    nodeFlags: [...nodeFlagsFor(['processors']), ...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : [])],
  });
  const metrics = `http://127.0.0.1:${health}/metrics`;
  const counters = async () => ({ cpu: cpuMs(proc.pid), sum: (await scrapeMetric(metrics, 'playpulse_processor_batch_size_sum')) ?? 0, count: (await scrapeMetric(metrics, 'playpulse_processor_batch_size_count')) ?? 0 });
  const out: RateFigures[] = [];
  try {
    await waitReady(proc, `http://127.0.0.1:${health}/readyz`, 60_000);
    await producer.connect();
    await sleep(2_000);
    let written = 0;
    for (const [n, step] of steps.entries()) {
      const sources = Array.from({ length: players }, (_, p) => createEventSource({ seed: p + 1, payloadBytes: 0, idPrefix: `${id}-${n}-${p}-` }));
      const seqs = new Array<number>(players).fill(0);
      const before = await counters();
      const t0 = Date.now();
      let sent = 0;
      let p = 0;
      // Records due so far, written every 20 ms, one produce request per tick (as an edge's linger would batch them).
      while (Date.now() - t0 < seconds * 1000) {
        const due = Math.floor(((Date.now() - t0) / 1000) * step.rate);
        const messages = [];
        while (sent < due) {
          const player = `rate-${id}-${n}-${p}`;
          const now = Date.now();
          const events: RecordEvent[] = Array.from({ length: step.frame }, () => {
            const e = (sources[p] as ReturnType<typeof createEventSource>).next(now);
            seqs[p] = (seqs[p] ?? 0) + 1;
            return { id: e.id, type: e.type, ts: e.ts ?? now, ...(e.data ? { data: e.data } : {}), seq: seqs[p] };
          });
          messages.push({ key: player, value: encodeFrameRecord({ v: 2, player, recvAt: now, edge: 'rate', session: `s-${n}-${p}`, stream: `st-${n}-${p}`, events }), headers: frameRecordHeaders(events) });
          sent += step.frame;
          p = (p + 1) % players;
        }
        if (messages.length > 0) await producer.send({ topic: config.topics.events, acks: -1, messages });
        await sleep(20);
      }
      written += sent;
      // Until the processors counted every event written so far (or 30 s).
      const until = Date.now() + 30_000;
      let after = await counters();
      while (after.sum < written && Date.now() < until) {
        await sleep(250);
        after = await counters();
      }
      const figures = stepFigures(step, before, after, Date.now() - t0, after.sum >= written);
      out.push(figures);
      process.stderr.write(`step ${step.frame}x${step.rate}: ${JSON.stringify(figures)}\n`);
    }
  } finally {
    await proc.stop();
    await producer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin.connect().catch(() => undefined);
    await admin.deleteTopics({ topics: [config.topics.events, config.topics.deadLetter, config.topics.decisions] }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await deleteKeysUnder(redis, config.keyPrefix).catch(() => undefined);
    redis.disconnect();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(
    [
      `processors at a fixed rate (sample game, rules live; ${players} players; ${seconds} s per step)`,
      '| events/frame | offered/s | events | chunks | events/chunk | CPU % | CPU µs/event | CPU µs/chunk | drained |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---|',
      ...out.map((f) => `| ${f.frame} | ${f.rate} | ${f.events} | ${f.chunks} | ${f.eventsPerChunk} | ${f.cpuPct} | ${f.cpuUsPerEvent} | ${f.cpuUsPerChunk} | ${f.drained ? 'yes' : 'no'} |`),
      JSON.stringify({ players, seconds, steps: out }),
      '',
    ].join('\n'),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`processors rate bench failed: ${errorMessage(err)}\n`);
    process.exit(err instanceof PlayPulseError && err.code === 'CONFIG_INVALID' ? 2 : 1);
  });
}
