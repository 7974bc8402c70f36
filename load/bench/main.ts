/**
 * `npm run bench [-- --quick] [-- --profile] [-- --baseline] [-- --keep] [-- --edge-alone] [-- --only ingest,offers,idle,tracing,processors,rules,memory]`
 *
 * Resolves the stack (infra/stack.ts), starts the system under test as separate processes
 * (edge, processors and offers roles of bin/start.ts) and the ws peer edge, all on fresh topic
 * and key prefixes; then runs the shared scenarios (load/scenarios) from load-generator
 * processes and writes load/results/<runId>.json, <runId>.md and <runId>/*.svg. `--quick` is
 * the smoke run (under 90 s; it leaves out the rule-cost phase unless --only names it); `--profile` runs the system under test with --cpu-prof and
 * lists its hot spots; `--baseline` (after a full run worth keeping) also refreshes
 * load/results/baseline.json and the charts in load/charts/. Every loop is bounded in count and time; loopback only.
 * At the end the run's Redis keys, topics and consumer groups are deleted, so a Redis or a
 * broker that outlives the run keeps nothing of it; `--keep` leaves them for inspection.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, withServices, type Config } from '../../lib/config.ts';
import { createKafka } from '../../lib/kafka.ts';
import { createRedis, deleteKeysUnder } from '../../lib/redis.ts';
import { resolveStack } from '../../infra/stack.ts';
import { BENCH_PLANS } from '../scenarios/index.ts';
import { describeMachine } from './machine.ts';
import { PHASES, runBench, type Phase } from './run.ts';
import { fileLimit } from './procs.ts';
import { errorMessage } from '../../lib/errors.ts';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      baseline: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string', default: 'load/results' },
      keep: { type: 'boolean', default: false },
      'edge-alone': { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : PHASES.filter((p) => !(values.quick && p === 'rules'));
  const bad = only.filter((p) => !(PHASES as readonly string[]).includes(p));
  if (bad.length > 0) {
    process.stderr.write(`--only takes ${PHASES.join(', ')}; got ${bad.join(', ')}\n`);
    return 2;
  }
  const startedAt = new Date();
  const runId = `${values.quick ? 'q' : 'f'}${startedAt.getTime().toString(36)}`;
  const outDir = resolve(values.out);
  const runDir = join(outDir, runId);
  mkdirSync(join(runDir, 'logs'), { recursive: true });

  const env = { ...process.env, PLAYPULSE_TOPIC_PREFIX: `bench-${runId}-`, PLAYPULSE_KEY_PREFIX: `bench-${runId}` };
  const config = loadConfig(env);
  const stack = await resolveStack(config, { startKafkaOnPort: 0 });
  const services = withServices(config, stack);
  try {
    const machine = await describeMachine(stack.kafkaVersion, stack.redisUrl, fileLimit('self'));
    const results = await runBench({
      runId,
      mode: values.quick ? 'quick' : 'full',
      plan: values.quick ? BENCH_PLANS.quick : BENCH_PLANS.full,
      phases: new Set(only as Phase[]),
      profile: values.profile ?? false,
      config: services,
      env,
      machine,
      runDir,
      outDir,
      startedAt,
      baseline: values.baseline ?? false,
      edgeAlone: values['edge-alone'] ?? false,
    });
    process.stdout.write(`\n${results.markdown}\nwrote ${results.files.join(', ')}\n`);
    return 0;
  } finally {
    if (!values.keep) await removeRunData(services, runId);
    await stack.stop();
  }
}

/** Deletes what the run left in Redis and Kafka (keys under its prefix, its topics and groups); failures are only reported. */
async function removeRunData(config: Config, runId: string): Promise<void> {
  const redis = createRedis(config.redisUrl ?? '', 'bench-cleanup', { maxRetriesPerRequest: 1 });
  try {
    const keys = await deleteKeysUnder(redis, config.keyPrefix);
    process.stderr.write(`removed the run's ${keys} Redis keys (${config.keyPrefix}:*)\n`);
  } catch (err) {
    process.stderr.write(`could not remove the run's Redis keys (${config.keyPrefix}:*): ${errorMessage(err)}\n`);
  } finally {
    redis.disconnect();
  }
  const admin = createKafka(config.kafkaBrokers ?? [], 'bench-cleanup', { retry: { retries: 1 } }).admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`bench-${runId}-`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(config.keyPrefix));
    if (groups.length > 0) await admin.deleteGroups(groups);
  } catch (err) {
    process.stderr.write(`could not remove the run's Kafka topics and groups: ${errorMessage(err)}\n`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
