/**
 * Processor throughput benchmark: `node --import tsx load/bench/processors-throughput.ts [--events 200000]
 * [--players 20000] [--partitions 6] [--quick] [--skip-naive] [--skip-rules]`.
 *
 * Finds or starts Kafka and Redis (infra/stack.ts), produces the events to a fresh topic
 * (5 properties declared: a count, a streak, a windowed count, a windowed sum, a last), then
 * drains that topic twice in this process, each time in a fresh consumer group and key
 * prefix: once with the real processors (startProcessors), once with the naive peer
 * (load/peers/naive-processor.ts, the comparison baseline). Rates are events applied per
 * second from the consumer's group join (its first fetch included) to the last applied
 * event. Checks that both reached the expected counts.
 *
 * Then, with rules live (BENCH_RULE_FILES: the same taxonomy and properties, five rules), the
 * same topic is drained twice more, each in a fresh group and key prefix: by our processors
 * with the offers decider on, wired as bin/roles.ts wires the processors role (auto-pipelined
 * decider client, the decision stream, lifecycle queues), and by the naive per-event decide
 * peer (load/peers/naive-decider.ts). Rates are events decided per second the same way; each
 * run must have decided every event of the set. Prints a table and one JSON line, and
 * removes its topics and keys.
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import type { Kafka } from 'kafkajs';
import { loadConfig, withServices, type Config } from '../../lib/config.ts';
import { Health } from '../../lib/health.ts';
import { createDurableProducer, createKafka, ensureTopics } from '../../lib/kafka.ts';
import { createRedis, deleteKeysUnder, type RedisClient } from '../../lib/redis.ts';
import { resolveStack } from '../../infra/stack.ts';
import { compileBundle } from '../../designer/compile.ts';
import { staticBundleSource } from '../../designer/store.ts';
import type { Bundle } from '../../designer/types.ts';
import type { AppliedEvent } from '../../processors/decider-seam.ts';
import { encodeRecord, recordHeaders, type EventRecord } from '../../protocol/record.ts';
import { startProcessors } from '../../processors/index.ts';
import { startNaive } from '../peers/naive-processor.ts';
import { readPlayerState } from '../../processors/state.ts';
import { createDecider } from '../../offers/engine/decider.ts';
import { startDecisionLog } from '../../offers/engine/decision-log.ts';
import { rootLogger } from '../../lib/log.ts';
import { naiveKeys, startNaiveDecider } from '../peers/naive-decider.ts';

export const BENCH_FILES: Record<string, string> = {
  'events.yaml': `
events:
  match.end:     { data: { result: { enum: [win, loss, draw], required: true }, duration_s: int, mode: string } }
  shop.purchase: { data: { sku: { type: string, required: true }, coins: int } }
  level.up:      { data: { level: { type: int, required: true } } }
`,
  'properties.yaml': `
properties:
  matches_played: { count: { event: match.end } }
  loss_streak:    { streak: { event: match.end, when: 'event.data.result == "loss"' } }
  losses_10m:     { count: { event: match.end, when: 'event.data.result == "loss"', window: 10m } }
  coins_spent_7d: { sum: { event: shop.purchase, field: data.coins, window: 7d } }
  level:          { last: { event: level.up, field: data.level } }
`,
};

/** BENCH_FILES with rules live: a daily cap of 3 offers per player and no holdout, as in the sample game without its sampling. */
export const BENCH_RULE_FILES: Record<string, string> = {
  ...BENCH_FILES,
  'policy.yaml': 'fatigue:\n  maxOffersPerDay: 3\nholdout: { percent: 0 }\n',
  'comeback.yaml': benchRule('comeback', 'match.end', 'event.data.result == "loss" && player.loss_streak >= 3', ['cooldown: 1h']),
  'veteran-pass.yaml': benchRule('veteran-pass', 'match.end', 'player.matches_played >= 5 && event.data.mode == "ranked"', ['maxPerPlayer: 1'], [
    'experiment:',
    '  variants:',
    '    - { name: control, weight: 10, holdout: true }',
    '    - { name: a, weight: 90 }',
  ]),
  'spender-upsell.yaml': benchRule('spender-upsell', 'shop.purchase', 'player.coins_spent_7d >= 100 && event.data.coins > 50', ['cooldown: 1h', 'budget: { count: 1000000, per: day }']),
  'level-milestone.yaml': benchRule('level-milestone', 'level.up', 'event.data.level % 10 == 0', ['maxPerPlayer: 2']),
  'win-shadow.yaml': benchRule('win-shadow', 'match.end', 'event.data.result == "win" && player.matches_played >= 2', ['cooldown: 1h'], [], 'shadow'),
};

/** One rule of BENCH_RULE_FILES; the offers live 2 h, beyond the events' hour in the past. */
function benchRule(id: string, event: string, when: string, limits: string[], extra: string[] = [], mode = 'live'): string {
  return [`id: ${id}`, `mode: ${mode}`, 'trigger:', `  event: ${event}`, `  when: '${when}'`, 'offer:', `  sku: sku.${id}`, '  price: { amount: 199, currency: USD }', '  ttl: 2h', 'limits:', ...limits.map((l) => `  ${l}`), ...extra, ''].join('\n');
}

export interface BenchOptions {
  readonly events: number;
  readonly players: number;
  readonly partitions: number;
  /** Measure ours only (for profiling). */
  readonly skipNaive?: boolean;
  /** Leave out the comparison with rules live. */
  readonly skipRules?: boolean;
}

export interface BenchRun {
  readonly name: string;
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSec: number;
}

export interface BenchResult {
  readonly machine: { cpus: number; cpu: string; node: string };
  readonly options: BenchOptions;
  readonly produceSeconds: number;
  readonly ours: BenchRun;
  readonly naive: BenchRun;
  readonly ratio: number;
  readonly stateCheck: string;
  /** The same events with rules live: ours with the offers decider on, the naive per-event decide peer; null when skipped. */
  readonly withRules: RulesRun | null;
}

export interface RulesRun {
  readonly ours: BenchRun & { readonly offers: number };
  readonly naive: BenchRun & { readonly offers: number };
  readonly ratio: number;
}

/**
 * Deterministic events: players in turn, 70% match.end, 20% shop.purchase, 10% level.up, 1 ms
 * apart, each on its player's client stream with the next seq, as the SDK sends them.
 */
export function benchEvents(n: number, players: number, base = Date.now() - 3_600_000): EventRecord[] {
  const out: EventRecord[] = new Array(n);
  const results = ['win', 'loss', 'loss', 'draw'];
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  for (let i = 0; i < n; i++) {
    const player = `bench-${i % players}`;
    const r = rnd();
    const common = { v: 1, player, id: `ev-${i}`, recvAt: base + i, edge: 'bench-edge', session: `s-${i % players}`, stream: `st-${i % players}`, seq: Math.floor(i / players) + 1 };
    if (r < 0.7) out[i] = { ...common, type: 'match.end', data: { result: results[Math.floor(rnd() * 4)] as string, duration_s: 300, mode: 'ranked' } };
    else if (r < 0.9) out[i] = { ...common, type: 'shop.purchase', data: { sku: 'gems.100', coins: 1 + Math.floor(rnd() * 100) } };
    else out[i] = { ...common, type: 'level.up', data: { level: i % 50 } };
  }
  return out;
}

async function produce(kafka: Kafka, topic: string, events: readonly EventRecord[]): Promise<number> {
  const producer = createDurableProducer(kafka);
  await producer.connect();
  const t0 = Date.now();
  const batch = 10_000;
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < events.length; i += batch) {
    inFlight.push(
      producer.send({
        topic,
        acks: -1,
        messages: events.slice(i, i + batch).map((r) => ({ key: r.player, value: encodeRecord(r), headers: recordHeaders(r) })),
      }),
    );
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await producer.disconnect();
  return (Date.now() - t0) / 1000;
}

/**
 * Counts applied events and resolves when `expected` were applied (duplicates excluded). The
 * clock runs from `start()`, called once the consumer has joined its group (kafkajs `run`
 * resolves after the join and only then schedules the first fetch, so the fetch is timed and
 * the start-up is not), to the last event counted. Timing from the first event counted
 * instead (and leaving that call's events out) favoured whoever counts a whole chunk at once
 * while other partitions' chunks run beside it: their work was done before the clock started.
 */
function meter(name: string, expected: number) {
  let n = 0;
  let startedAt = 0;
  let last = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const start = () => {
    // programmer error: a count before the join would be timed from the wrong moment
    if (n > 0) throw new Error(`${name}: ${n} events counted before the consumer had joined`);
    startedAt = performance.now();
  };
  const add = (k: number) => {
    n += k;
    last = performance.now();
    if (n >= expected) done();
  };
  const result = (): BenchRun => {
    const seconds = (last - startedAt) / 1000;
    return { name, events: n, seconds: Math.round(seconds * 1000) / 1000, eventsPerSec: Math.round(n / Math.max(seconds, 0.001)) };
  };
  return { start, add, finished, result };
}

async function runOurs(config: Config, bundle: Bundle, expected: number): Promise<BenchRun> {
  const m = meter('playpulse', expected);
  const processors = await startProcessors({
    config,
    health: new Health(),
    bundles: staticBundleSource(bundle),
    decider: {
      decideBatch: async (events: readonly AppliedEvent[]) => {
        let fresh = 0;
        for (const e of events) if (!e.duplicate) fresh += 1;
        m.add(fresh);
      },
    },
    groupId: `${config.keyPrefix}-ours`,
  });
  m.start();
  await m.finished;
  await processors.stop();
  return m.result();
}

async function runNaive(kafka: Kafka, redisUrl: string, config: Config, bundle: Bundle, expected: number): Promise<BenchRun> {
  const m = meter('naive', expected);
  const redis = createRedis(redisUrl, 'bench-naive');
  const naive = await startNaive({ kafka, redis, topic: config.topics.events, groupId: `${config.keyPrefix}-naive`, keyPrefix: config.keyPrefix, bundle, onEvent: () => m.add(1) });
  m.start();
  await m.finished;
  await naive.stop();
  redis.disconnect();
  return m.result();
}

/** Our processors with the offers decider on, as bin/roles.ts wires the processors role; counts events decided. */
async function runOursDeciding(config: Config, redisUrl: string, bundle: Bundle, expected: number): Promise<BenchRun> {
  const m = meter('playpulse', expected);
  const redis = createRedis(redisUrl, 'bench-decider', { enableAutoPipelining: true });
  const decisions = await startDecisionLog(config, rootLogger);
  const decider = createDecider({ config, redis, bundles: staticBundleSource(bundle), decisionLog: decisions.log });
  const processors = await startProcessors({
    config,
    health: new Health(),
    bundles: staticBundleSource(bundle),
    decider: {
      decideBatch: async (events: readonly AppliedEvent[]) => {
        await decider.decideBatch(events);
        m.add(events.filter((e) => !e.duplicate).length);
      },
    },
    groupId: `${config.keyPrefix}-ours`,
  });
  m.start();
  await m.finished;
  await processors.stop();
  await decider.close();
  await decisions.log.close();
  redis.disconnect();
  return m.result();
}

async function runNaiveDeciding(kafka: Kafka, redisUrl: string, config: Config, bundle: Bundle, expected: number): Promise<BenchRun> {
  const m = meter('naive', expected);
  const redis = createRedis(redisUrl, 'bench-naive-decider');
  const naive = await startNaiveDecider({ kafka, redis, topic: config.topics.events, groupId: `${config.keyPrefix}-naive`, keyPrefix: config.keyPrefix, bundle, onEvent: () => m.add(1) });
  m.start();
  await m.finished;
  await naive.stop();
  redis.disconnect();
  return m.result();
}

/** Offers in the players' inboxes: ours (`<prefix>:{p:<player>}:inbox`) or the naive peer's. */
async function countInboxes(redis: RedisClient, players: number, inbox: (player: string) => string): Promise<number> {
  let total = 0;
  for (let from = 0; from < players; from += 1_000) {
    const pipe = redis.pipeline();
    for (let p = from; p < Math.min(players, from + 1_000); p += 1) pipe.zcard(inbox(`bench-${p}`));
    for (const [, n] of (await pipe.exec()) ?? []) total += Number(n ?? 0);
  }
  return total;
}

/** The comparison with rules live, on the topic already produced, in a key prefix of its own. */
async function runWithRules(kafka: Kafka, redis: RedisClient, redisUrl: string, config: Config, opts: BenchOptions, log: (line: string) => void): Promise<RulesRun> {
  const compiled = compileBundle(BENCH_RULE_FILES);
  // programmer error: the bench bundle ships compiling
  if (!compiled.ok) throw new Error(`bench rules bundle does not compile: ${JSON.stringify(compiled.diagnostics)}`);
  const bundle = compiled.bundle;
  log(`rules live (${bundle.rules.length} rules): draining with PlayPulse processors and the offers decider`);
  const oursRun = await runOursDeciding(config, redisUrl, bundle, opts.events);
  const ours = { ...oursRun, offers: await countInboxes(redis, opts.players, (p) => `${config.keyPrefix}:{p:${p}}:inbox`) };
  log(`playpulse, rules live: ${ours.eventsPerSec} events/s, ${ours.offers} offers; draining with the naive per-event decide peer`);
  const naiveRun = await runNaiveDeciding(kafka, redisUrl, config, bundle, opts.events);
  const naive = { ...naiveRun, offers: await countInboxes(redis, opts.players, (p) => naiveKeys(config.keyPrefix, p).inbox) };
  log(`naive, rules live: ${naive.eventsPerSec} events/s, ${naive.offers} offers`);
  return { ours, naive, ratio: Math.round((ours.eventsPerSec / Math.max(naive.eventsPerSec, 1)) * 10) / 10 };
}

async function checkState(redis: RedisClient, config: Config, bundle: Bundle, events: readonly EventRecord[], players: number): Promise<string> {
  const want = new Map<string, { total: number; matches: number }>();
  for (const e of events) {
    const w = want.get(e.player) ?? { total: 0, matches: 0 };
    w.total += 1;
    if (e.type === 'match.end') w.matches += 1;
    want.set(e.player, w);
  }
  const sample = Array.from({ length: Math.min(200, players) }, (_, i) => `bench-${Math.floor((i * players) / Math.min(200, players))}`);
  const now = events[events.length - 1]?.recvAt ?? Date.now();
  for (const p of sample) {
    const w = want.get(p);
    const ours = await readPlayerState(redis, config.keyPrefix, p, bundle, now);
    const naive = await redis.hmget(`${config.keyPrefix}:naive:${p}`, 'events_total', 'matches_played');
    if (!w || ours.events_total !== w.total || ours.props.matches_played !== w.matches || Number(naive[0]) !== w.total || Number(naive[1]) !== w.matches) {
      return `MISMATCH for ${p}: expected ${JSON.stringify(w)}, ours ${ours.events_total}/${String(ours.props.matches_played)}, naive ${naive.join('/')}`;
    }
  }
  return `ok (${sample.length} players: events_total and matches_played equal the expected counts in both)`;
}

async function cleanup(redis: RedisClient, kafka: Kafka, config: Config, rulesPrefix: string): Promise<void> {
  await deleteKeysUnder(redis, config.keyPrefix);
  await deleteKeysUnder(redis, rulesPrefix);
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [config.topics.events, config.topics.deadLetter, config.topics.decisions] }).catch(() => undefined);
  const groups = [config.keyPrefix, rulesPrefix].flatMap((p) => [`${p}-ours`, `${p}-naive`]);
  await admin.deleteGroups(groups).catch(() => undefined);
  await admin.disconnect();
}

/** Runs the whole benchmark against the stack `base` resolves to. */
export async function runProcessorBench(opts: BenchOptions, log: (line: string) => void = () => undefined): Promise<BenchResult> {
  const id = randomBytes(4).toString('hex');
  const env = { ...process.env, PLAYPULSE_TOPIC_PREFIX: `bench-${id}.`, PLAYPULSE_KEY_PREFIX: `bench-${id}`, PLAYPULSE_PARTITIONS: String(opts.partitions) };
  const base = loadConfig(env);
  const stack = await resolveStack(base);
  const config = withServices(base, stack);
  const compiled = compileBundle(BENCH_FILES);
  // programmer error: the bench bundle ships compiling
  if (!compiled.ok) throw new Error(`bench bundle does not compile: ${JSON.stringify(compiled.diagnostics)}`);
  const bundle = compiled.bundle;
  const kafka = createKafka(stack.kafkaBrokers, 'playpulse-bench');
  const redis = createRedis(stack.redisUrl, 'bench');
  const rulesConfig: Config = { ...config, keyPrefix: `${config.keyPrefix}-rules` };
  try {
    await ensureTopics(kafka, [
      { topic: config.topics.events, numPartitions: opts.partitions },
      { topic: config.topics.deadLetter, numPartitions: opts.partitions },
    ]);
    const events = benchEvents(opts.events, opts.players);
    log(`producing ${opts.events} events for ${opts.players} players to ${config.topics.events} (${opts.partitions} partitions)`);
    const produceSeconds = await produce(kafka, config.topics.events, events);
    log(`produced in ${produceSeconds.toFixed(1)} s; draining with PlayPulse processors`);
    const ours = await runOurs(config, bundle, opts.events);
    log(`playpulse: ${ours.eventsPerSec} events/s${opts.skipNaive ? '' : '; draining with the naive peer'}`);
    const naive = opts.skipNaive ? { name: 'naive', events: 0, seconds: 0, eventsPerSec: 0 } : await runNaive(kafka, stack.redisUrl, config, bundle, opts.events);
    if (!opts.skipNaive) log(`naive: ${naive.eventsPerSec} events/s`);
    const stateCheck = opts.skipNaive ? 'skipped' : await checkState(redis, config, bundle, events, opts.players);
    const withRules = opts.skipRules || opts.skipNaive ? null : await runWithRules(kafka, redis, stack.redisUrl, rulesConfig, opts, log);
    return {
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
      options: opts,
      produceSeconds,
      ours,
      naive,
      ratio: Math.round((ours.eventsPerSec / Math.max(naive.eventsPerSec, 1)) * 10) / 10,
      stateCheck,
      withRules,
    };
  } finally {
    await cleanup(redis, kafka, config, rulesConfig.keyPrefix).catch(() => undefined);
    redis.disconnect();
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      players: { type: 'string' },
      partitions: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'skip-naive': { type: 'boolean', default: false },
      'skip-rules': { type: 'boolean', default: false },
    },
  });
  const events = Number(values.events ?? (values.quick ? 20_000 : 200_000));
  const players = Number(values.players ?? Math.max(1, Math.floor(events / 10)));
  const partitions = Number(values.partitions ?? 6);
  const r = await runProcessorBench({ events, players, partitions, skipNaive: values['skip-naive'], skipRules: values['skip-rules'] }, (l) => process.stderr.write(`bench: ${l}\n`));
  const row = (x: BenchRun) => `| ${x.name.padEnd(9)} | ${String(x.eventsPerSec).padStart(12)} | ${x.seconds.toFixed(2).padStart(9)} |`;
  process.stdout.write(
    [
      `processors: ${r.options.events} events, ${r.options.players} players, ${r.options.partitions} partitions, 5 properties; ${r.machine.cpus} × ${r.machine.cpu}, Node ${r.machine.node}`,
      '| processor | events/s     | seconds   |',
      '|-----------|--------------|-----------|',
      row(r.ours),
      row(r.naive),
      `ratio: ${r.ratio}×   state check: ${r.stateCheck}`,
      ...(r.withRules
        ? [
            `rules live (${Object.keys(BENCH_RULE_FILES).filter((f) => !(f in BENCH_FILES) && f !== 'policy.yaml').length} rules), ours with the offers decider on, naive per-event decide:`,
            row(r.withRules.ours),
            row(r.withRules.naive),
            `ratio: ${r.withRules.ratio}×   offers made: ours ${r.withRules.ours.offers}, naive ${r.withRules.naive.offers}`,
          ]
        : []),
      JSON.stringify(r),
      '',
    ].join('\n'),
  );
}

if (process.argv[1]?.endsWith('load/bench/processors-throughput.ts')) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
