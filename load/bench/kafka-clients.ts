/**
 * Producer cost per record of two Kafka clients on the same produce workload: kafkajs as the
 * product configures it (createKafka and createDurableProducer of lib/kafka.ts: idempotent
 * producer, acks -1) against @platformatic/kafka (idempotent producer, acks ALL). Each run
 * writes `--records` records to a fresh 6-partition topic: keys are player ids `p-<i>` from a
 * pool of 2,000, values one ~120-byte random buffer, one header `pp-type: match.end`, sent
 * `--batch` records per send call with at most `--inflight` send calls outstanding. The
 * clients run one at a time, alternating, `--rounds` times each. Per run: wall time,
 * records/s, process CPU time (user + system) per record and p50/p99 of the send calls; then
 * the medians and the platformatic/kafkajs ratios, as a markdown table and a JSON line.
 *
 * After each run the topic must hold every record, spread over the partitions as with the
 * other client (same keys, same murmur2 partitioning); the topics are deleted at the end.
 *
 *   PLAYPULSE_LOG_LEVEL=warn node --expose-gc --import tsx load/bench/kafka-clients.ts
 *     [--brokers host:port[,host:port]] [--records 200000] [--batch 500] [--inflight 1] [--rounds 3] [--local]
 *
 * `--brokers` defaults to KAFKA_BROKERS, else 127.0.0.1:9092; `--local` starts a single-node
 * broker of its own (infra/kafka-broker.ts, jars from `npm run kafka:fetch`) instead.
 * `--expose-gc` lets each run start after a full collection. The CPU figure is this
 * process's only (the broker's is not in it), so run it on an otherwise idle machine.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CLIENTS, median, openBenchKafka, openProducer, runBenchMain, type BenchKafka, type BenchRecord, type ClientName } from './kafka-producers.ts';
import { PlayPulseError } from '../../lib/errors.ts';

const PARTITIONS = 6;
const PLAYERS = 2_000;
const VALUE_BYTES = 120;
const HEADERS: Record<string, string> = { 'pp-type': 'match.end' };

interface Workload {
  readonly records: number;
  readonly batch: number;
  readonly inflight: number;
  readonly keys: readonly string[];
  readonly value: Buffer;
}

interface RunResult {
  readonly client: ClientName;
  readonly round: number;
  readonly records: number;
  readonly wallMs: number;
  readonly recordsPerSec: number;
  readonly cpuUsPerRecord: number;
  readonly sendP50Ms: number;
  readonly sendP99Ms: number;
}

/** Sends `batches` through `send` with at most `inflight` calls outstanding; returns each call's latency (ms). */
async function drive<B>(batches: readonly B[], inflight: number, send: (batch: B) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      const batch = batches[next++] as B;
      const t0 = performance.now();
      await send(batch);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, batches.length) }, worker));
  return latencies;
}

/** Runs `body` (which sends `records` records) and measures it; `setup` and `teardown` are not measured. */
async function measure(client: ClientName, round: number, records: number, body: () => Promise<number[]>): Promise<RunResult> {
  (globalThis as { gc?: () => void }).gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const latencies = await body();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  return {
    client,
    round,
    records,
    wallMs: round2(wallMs),
    recordsPerSec: Math.round(records / (wallMs / 1_000)),
    cpuUsPerRecord: round2((cpu.user + cpu.system) / records),
    sendP50Ms: round2(percentile(latencies, 0.5)),
    sendP99Ms: round2(percentile(latencies, 0.99)),
  };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function runClient(client: ClientName, brokers: readonly string[], topic: string, w: Workload, round: number): Promise<RunResult> {
  const producer = await openProducer(client, brokers, topic);
  try {
    // Warm-up: producer id, metadata of the topic, connections to its leaders; not measured.
    await producer.send([{ key: w.keys[0] as string, value: w.value, headers: HEADERS }]);
    const records: BenchRecord[] = Array.from({ length: w.records }, (_, i) => ({ key: w.keys[i % PLAYERS] as string, value: w.value, headers: HEADERS }));
    const batches = chunks(records, w.batch);
    return await measure(client, round, w.records, () => drive(batches, w.inflight, (batch) => producer.send(batch)));
  } finally {
    await producer.close();
  }
}

/** Fails unless `topic` holds `expected` records (the run's and the warm-up's); returns the records per partition. */
async function checkWritten(bench: BenchKafka, topic: string, expected: number): Promise<string> {
  const counts = await bench.recordsPerPartition(topic);
  const total = counts.reduce((a, b) => a + b, 0);
  // programmer error: the bench's own check of what a client wrote; only a client that lost or doubled records fails it
  if (total !== expected) throw new Error(`${topic} holds ${total} records, not ${expected}`);
  return counts.join(',');
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function positiveInt(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new PlayPulseError('CONFIG_INVALID', `--${name} takes a positive integer; got ${raw}`);
  return n;
}

function table(results: readonly RunResult[], medians: readonly RunResult[]): string {
  const row = (r: RunResult, label: string): string =>
    `| ${r.client} | ${label} | ${r.records} | ${r.wallMs.toFixed(0)} | ${r.recordsPerSec} | ${r.cpuUsPerRecord.toFixed(2)} | ${r.sendP50Ms.toFixed(2)} | ${r.sendP99Ms.toFixed(2)} |`;
  return [
    '| client | round | records | wall ms | records/s | CPU µs/record | send p50 ms | send p99 ms |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...results.map((r) => row(r, String(r.round))),
    ...medians.map((r) => row(r, '**median**')),
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      brokers: { type: 'string' },
      records: { type: 'string', default: '200000' },
      batch: { type: 'string', default: '500' },
      inflight: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '3' },
      local: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  const records = positiveInt('records', values.records);
  const rounds = positiveInt('rounds', values.rounds);
  const w: Workload = {
    records,
    batch: positiveInt('batch', values.batch),
    inflight: positiveInt('inflight', values.inflight),
    keys: Array.from({ length: PLAYERS }, (_, i) => `p-${i}`),
    value: randomBytes(VALUE_BYTES),
  };

  const bench = await openBenchKafka(values, 'kafka-clients-bench-admin');
  const runId = Date.now().toString(36);
  const results: RunResult[] = [];
  /** Records per partition of each client's last run: the same keys must land alike. */
  const spread = new Map<ClientName, string>();
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const client of CLIENTS) {
        const topic = `bench-kafka-clients-${runId}-${client}-${round}`;
        await bench.createTopic(topic, PARTITIONS);
        const r = await runClient(client, bench.brokers, topic, w, round);
        results.push(r);
        spread.set(client, await checkWritten(bench, topic, records + 1));
        process.stderr.write(`${client} round ${round}: ${r.recordsPerSec} records/s, ${r.cpuUsPerRecord} µs CPU/record\n`);
      }
      if (spread.get('kafkajs') !== spread.get('platformatic')) {
        // programmer error: the bench's own check that both clients partition keys alike, or the comparison is not like for like
        throw new Error(`the clients spread the keys differently over the partitions: kafkajs ${spread.get('kafkajs')}, platformatic ${spread.get('platformatic')}`);
      }
    }
  } finally {
    await bench.close();
  }

  const medians = CLIENTS.map((client): RunResult => {
    const rs = results.filter((r) => r.client === client);
    return {
      client,
      round: 0,
      records,
      wallMs: round2(median(rs.map((r) => r.wallMs))),
      recordsPerSec: Math.round(median(rs.map((r) => r.recordsPerSec))),
      cpuUsPerRecord: round2(median(rs.map((r) => r.cpuUsPerRecord))),
      sendP50Ms: round2(median(rs.map((r) => r.sendP50Ms))),
      sendP99Ms: round2(median(rs.map((r) => r.sendP99Ms))),
    };
  });
  const [kjs, plat] = medians as [RunResult, RunResult];
  const ratios = {
    cpuUsPerRecord: Math.round((plat.cpuUsPerRecord / kjs.cpuUsPerRecord) * 1_000) / 1_000,
    recordsPerSec: Math.round((plat.recordsPerSec / kjs.recordsPerSec) * 1_000) / 1_000,
  };
  const workload = { records, batch: w.batch, inflight: w.inflight, rounds, partitions: PARTITIONS, players: PLAYERS, valueBytes: VALUE_BYTES };
  process.stdout.write(
    [
      `Kafka producers, ${records} records a run, ${w.batch} per send, ${w.inflight} send(s) in flight, ${PARTITIONS} partitions, idempotent, acks all (node ${process.version})`,
      '',
      table(results, medians),
      '',
      `platformatic/kafkajs: CPU µs per record ×${ratios.cpuUsPerRecord}, records/s ×${ratios.recordsPerSec}`,
      '',
      JSON.stringify({ workload, node: process.version, results, medians, ratios }),
      '',
    ].join('\n'),
  );
  return 0;
}

runBenchMain(main);
