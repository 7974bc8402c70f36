/**
 * The floor under the edge's ack latency: how long a record waits for Kafka's acknowledgement
 * when nothing else runs, no edge, no WebSocket, no load generator in another process.
 *
 * Records arrive paced at `--rate` per second (500 by default: 10,000 events/s in frames of
 * 20, one record per frame, as the fixed-rate phase of `npm run bench`), keys from a pool of
 * 2,000 players, ~900-byte values. They are sent the way edge/producer.ts sends them: a record
 * arriving while nothing is in flight waits `--linger` ms for company; exactly one send is in
 * flight per lane, and whatever arrives meanwhile forms the lane's next send. `--lanes N`
 * splits the records over N producers by key (one send in flight each: a try at hiding one
 * send's wait behind another's). Per run, after `--warmup` seconds not counted: the send
 * round trips and each record's ack latency (arrival to its send resolving), p50/p99/p99.9.
 * Both clients of load/bench/kafka-producers.ts, alternating, `--rounds` times each, and the
 * medians; every record must be in the topic afterwards.
 *
 *   PLAYPULSE_LOG_LEVEL=warn node --import tsx load/bench/ack-floor.ts
 *     [--brokers host:port[,host:port]] [--local] [--rate 500] [--seconds 20] [--warmup 3]
 *     [--linger 1] [--lanes 1,2] [--rounds 2]
 *
 * `--brokers` defaults to KAFKA_BROKERS, else 127.0.0.1:9092; `--local` starts a single-node
 * broker of its own (infra/kafka-broker.ts). Run it on an otherwise idle machine: the figure
 * is what the broker and the client leave for everything else under the ack p99 target.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Histogram } from 'hdr-histogram-js';
import { PlayPulseError } from '../../lib/errors.ts';
import { createHistogram, recordMs, summarize } from './hist.ts';
import { CLIENTS, median, openBenchKafka, openProducer, runBenchMain, type BenchKafka, type BenchProducer, type BenchRecord, type ClientName } from './kafka-producers.ts';

const PARTITIONS = 6;
const PLAYERS = 2_000;
const VALUE_BYTES = 900;
const HEADERS: Record<string, string> = { 'pp-type': 'match.end' };

export interface Pacing {
  readonly rate: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly lingerMs: number;
  readonly lanes: number;
}

export interface FloorRun {
  readonly client: ClientName;
  readonly lanes: number;
  readonly round: number;
  readonly records: number;
  readonly sends: number;
  readonly sendP50Ms: number;
  readonly sendP99Ms: number;
  readonly ackP50Ms: number;
  readonly ackP99Ms: number;
  readonly ackP999Ms: number;
}

interface Lane {
  readonly producer: BenchProducer;
  queue: { record: BenchRecord; at: number }[];
  sending: boolean;
  timer: NodeJS.Timeout | null;
}

/** Parses `--lanes 1,2,4`: positive integers, in the order given, without repeats. */
export function parseLanes(raw: string): number[] {
  const lanes = raw.split(',').map((s) => s.trim());
  const out: number[] = [];
  for (const l of lanes) {
    const n = Number(l);
    if (l === '' || !Number.isInteger(n) || n < 1 || n > 64) throw new PlayPulseError('CONFIG_INVALID', `--lanes takes positive integers up to 64, comma-separated; got "${raw}"`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

/** Medians of each (client, lanes) pair's runs. */
export function mediansOf(runs: readonly FloorRun[]): FloorRun[] {
  const keys = [...new Set(runs.map((r) => `${r.client}\u0000${r.lanes}`))];
  return keys.map((k) => {
    const rs = runs.filter((r) => `${r.client}\u0000${r.lanes}` === k);
    const first = rs[0] as FloorRun;
    const m = (f: (r: FloorRun) => number) => median(rs.map(f));
    return {
      client: first.client,
      lanes: first.lanes,
      round: 0,
      records: Math.round(m((r) => r.records)),
      sends: Math.round(m((r) => r.sends)),
      sendP50Ms: m((r) => r.sendP50Ms),
      sendP99Ms: m((r) => r.sendP99Ms),
      ackP50Ms: m((r) => r.ackP50Ms),
      ackP99Ms: m((r) => r.ackP99Ms),
      ackP999Ms: m((r) => r.ackP999Ms),
    };
  });
}

/** One paced run; returns the counted records' figures and how many records it wrote in all. */
async function pacedRun(client: ClientName, brokers: readonly string[], topic: string, p: Pacing, round: number): Promise<{ run: FloorRun; written: number }> {
  const keys = Array.from({ length: PLAYERS }, (_, i) => `p-${i}`);
  const value = Buffer.alloc(VALUE_BYTES, 7);
  const lanes: Lane[] = [];
  for (let i = 0; i < p.lanes; i++) lanes.push({ producer: await openProducer(client, brokers, topic), queue: [], sending: false, timer: null });
  const sendHist = createHistogram();
  const ackHist = createHistogram();
  let sends = 0;
  let written = 0;
  const pending = new Set<Promise<void>>();
  try {
    // Warm-up sends, one per lane: producer ids, metadata, connections. Not counted.
    await Promise.all(lanes.map((l) => l.producer.send([{ key: keys[0] as string, value, headers: HEADERS }])));
    written += lanes.length;
    const t0 = performance.now();
    const countFrom = t0 + p.warmupSeconds * 1000;
    const flush = (l: Lane): void => {
      if (l.sending || l.queue.length === 0) return;
      l.sending = true;
      const items = l.queue;
      l.queue = [];
      const started = performance.now();
      const done = l.producer.send(items.map((i) => i.record)).then(() => {
        const ended = performance.now();
        written += items.length;
        if (started >= countFrom) {
          sends += 1;
          recordMs(sendHist, ended - started);
          for (const i of items) recordMs(ackHist, ended - i.at);
        }
        l.sending = false;
        pending.delete(done);
        if (l.queue.length > 0) setImmediate(() => flush(l));
      });
      pending.add(done);
    };
    const end = t0 + (p.warmupSeconds + p.seconds) * 1000;
    const gapMs = 1000 / p.rate;
    let next = t0;
    let n = 0;
    while (performance.now() < end) {
      next += gapMs;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const k = n++ % PLAYERS;
      const l = lanes[k % p.lanes] as Lane;
      l.queue.push({ record: { key: keys[k] as string, value, headers: HEADERS }, at: performance.now() });
      if (!l.sending && !l.timer) {
        l.timer = setTimeout(() => {
          l.timer = null;
          flush(l);
        }, p.lingerMs);
      }
    }
    while (pending.size > 0 || lanes.some((l) => l.queue.length > 0 || l.timer)) {
      await Promise.all(pending);
      await new Promise((resolve) => setTimeout(resolve, p.lingerMs + 1));
    }
  } finally {
    await Promise.all(lanes.map((l) => l.producer.close()));
  }
  const send = summarize(sendHist as Histogram);
  const ack = summarize(ackHist as Histogram);
  return {
    run: { client, lanes: p.lanes, round, records: ack.count, sends, sendP50Ms: send.p50Ms, sendP99Ms: send.p99Ms, ackP50Ms: ack.p50Ms, ackP99Ms: ack.p99Ms, ackP999Ms: ack.p999Ms },
    written,
  };
}

/** Fails unless `topic` holds `expected` records. */
async function checkWritten(bench: BenchKafka, topic: string, expected: number): Promise<void> {
  const total = (await bench.recordsPerPartition(topic)).reduce((sum, n) => sum + n, 0);
  // programmer error: the bench's own check of what a client wrote; only a client that lost or doubled records fails it
  if (total !== expected) throw new Error(`${topic} holds ${total} records, not ${expected}`);
}

function positive(name: string, raw: string, integer: boolean): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < (integer ? 1 : 0) || (integer && !Number.isInteger(n))) throw new PlayPulseError('CONFIG_INVALID', `--${name} takes a ${integer ? 'positive integer' : 'number ≥ 0'}; got ${raw}`);
  return n;
}

function table(runs: readonly FloorRun[], medians: readonly FloorRun[]): string {
  const f = (n: number) => n.toFixed(2);
  const row = (r: FloorRun, label: string) => `| ${r.client} | ${r.lanes} | ${label} | ${r.records} | ${r.sends} | ${f(r.sendP50Ms)} / ${f(r.sendP99Ms)} | ${f(r.ackP50Ms)} / ${f(r.ackP99Ms)} / ${f(r.ackP999Ms)} |`;
  return [
    '| client | lanes | round | records | sends | send p50 / p99 ms | ack p50 / p99 / p99.9 ms |',
    '|---|---:|---|---:|---:|---:|---:|',
    ...runs.map((r) => row(r, String(r.round))),
    ...medians.map((r) => row(r, '**median**')),
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      brokers: { type: 'string' },
      local: { type: 'boolean', default: false },
      rate: { type: 'string', default: '500' },
      seconds: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '3' },
      linger: { type: 'string', default: '1' },
      lanes: { type: 'string', default: '1,2' },
      rounds: { type: 'string', default: '2' },
    },
    allowPositionals: false,
  });
  const lanesList = parseLanes(values.lanes);
  const rounds = positive('rounds', values.rounds, true);
  const base = { rate: positive('rate', values.rate, true), seconds: positive('seconds', values.seconds, true), warmupSeconds: positive('warmup', values.warmup, false), lingerMs: positive('linger', values.linger, false) };

  const bench = await openBenchKafka(values, 'ack-floor-admin');
  const runId = Date.now().toString(36);
  const runs: FloorRun[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const lanes of lanesList) {
        for (const client of CLIENTS) {
          const topic = `bench-ack-floor-${runId}-${client}-${lanes}-${round}`;
          await bench.createTopic(topic, PARTITIONS);
          const { run, written } = await pacedRun(client, bench.brokers, topic, { ...base, lanes }, round);
          await checkWritten(bench, topic, written);
          runs.push(run);
          process.stderr.write(`${client}, ${lanes} lane(s), round ${round}: send p99 ${run.sendP99Ms} ms, ack p99 ${run.ackP99Ms} ms\n`);
        }
      }
    }
  } finally {
    await bench.close();
  }
  const medians = mediansOf(runs);
  process.stdout.write(
    [
      `Ack floor: ${base.rate} records/s paced, ${base.seconds} s counted after ${base.warmupSeconds} s, linger ${base.lingerMs} ms, one send in flight per lane, ${PARTITIONS} partitions, idempotent, acks all (node ${process.version})`,
      '',
      table(runs, medians),
      '',
      JSON.stringify({ pacing: base, lanes: lanesList, rounds, node: process.version, runs, medians }),
      '',
    ].join('\n'),
  );
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) runBenchMain(main);
