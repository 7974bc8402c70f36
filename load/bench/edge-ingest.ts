/**
 * Edge-only ingest benchmark (first version; `npm run bench` folds it in). Starts the local
 * stack (Kafka, Redis) and one edge in this process, then a separate load-generator process
 * (edge-client.ts) with `ws` clients, and reports sustained events/s acked (durably in
 * Kafka) and ack latency p50/p99 from the client's side.
 *
 *   npx tsx load/bench/edge-ingest.ts [--connections 50] [--seconds 15] [--batch 20] [--window 4]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveStack } from '../../infra/stack.ts';
import { loadConfig, withServices } from '../../lib/config.ts';
import { Health } from '../../lib/health.ts';
import { registry } from '../../lib/metrics.ts';
import { compileBundle } from '../../designer/compile.ts';
import { readBundleDir } from '../../designer/load.ts';
import { staticBundleSource } from '../../designer/store.ts';
import type { BenchClientOptions, BenchClientResult } from './edge-client.ts';
import { startEdge } from '../../edge/index.ts';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '15' },
    batch: { type: 'string', default: '20' },
    window: { type: 'string', default: '4' },
  },
});

async function main(): Promise<void> {
  const stamp = Date.now().toString(36);
  const base = loadConfig({
    ...process.env,
    EDGE_PORT: '0',
    PLAYPULSE_LOG_LEVEL: process.env.PLAYPULSE_LOG_LEVEL ?? 'warn',
    PLAYPULSE_TOPIC_PREFIX: `bench-${stamp}.`,
    PLAYPULSE_KEY_PREFIX: `bench-${stamp}`,
    PLAYPULSE_RATE_PER_SEC: '1000000',
    PLAYPULSE_RATE_BURST: '1000000',
  });
  const stack = await resolveStack(base, { startKafkaOnPort: 0 });
  const config = withServices(base, stack);
  const events = readBundleDir(config.rulesDir)['events.yaml'];
  const compiled = compileBundle(events ? { 'events.yaml': events } : {});
  // programmer error: the sample events.yaml ships compiling; a failure here is a bug of this bench
  if (!compiled.ok) throw new Error(`events.yaml in ${config.rulesDir} does not compile`);
  const edge = await startEdge({ config, health: new Health(), bundles: staticBundleSource(compiled.bundle) });
  const opts: BenchClientOptions = {
    url: `ws://127.0.0.1:${edge.port}/v1/play`,
    secret: config.authSecret,
    connections: Number(values.connections),
    seconds: Number(values.seconds),
    batch: Number(values.batch),
    window: Number(values.window),
  };
  try {
    const result = await runClient(opts);
    const rate = Math.round(result.acked / result.seconds);
    const batches = await produceBatches();
    process.stdout.write(
      [
        `edge ingest: ${opts.connections} connections, ${opts.batch} events/frame, ${opts.window} frames in flight each, ${result.seconds.toFixed(1)} s measured`,
        `  acked: ${result.acked} events = ${rate} events/s (durably in Kafka, acks=-1, idempotent producer)`,
        `  ack latency: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, p99.9 ${result.p999Ms} ms, max ${result.maxMs} ms`,
        `  produce requests: ${batches.count}, mean ${batches.meanEvents} events each (whole run)`,
        `  errors: ${JSON.stringify(result.errors)}`,
        '',
      ].join('\n'),
    );
  } finally {
    await edge.stop();
    await stack.stop();
  }
}

/** Produce requests the edge made and their mean size, from its own metrics. */
async function produceBatches(): Promise<{ count: number; meanEvents: number }> {
  const metric = (await registry.getSingleMetric('playpulse_edge_produce_batch_events')?.get()) as { values: { metricName?: string; value: number }[] } | undefined;
  const values = metric?.values ?? [];
  const count = values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
  const sum = values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
  return { count, meanEvents: count ? Math.round(sum / count) : 0 };
}

function runClient(opts: BenchClientOptions): Promise<BenchClientResult> {
  return new Promise((resolve, reject) => {
    const script = fileURLToPath(new URL('./edge-client.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      // programmer error: bench harness only; a dead load generator is a bug of the bench
      if (code !== 0 || !line) reject(new Error(`load generator exited with ${code}`));
      else resolve(JSON.parse(line) as BenchClientResult);
    });
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
