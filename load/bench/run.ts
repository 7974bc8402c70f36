/**
 * One bench run: starts the system under test and the peers, runs the phases in a fixed
 * order, stops everything it started, and writes the results. Each phase is bounded in time
 * (the generators' timeouts) and in count (the plan).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import type { Config } from '../../lib/config.ts';
import type { BenchPlan } from '../scenarios/index.ts';
import { inEvents, startLagSampler, type LagSampler } from './lag.ts';
import type { Machine } from './machine.ts';
import { nodeFlagsFor } from '../../bin/node-flags.ts';
import type { Role } from '../../bin/roles.ts';
import { idlePhase, ingestPhase, offersPhase, type IdleFigures, type IngestFigures, type OffersFigures, type PhaseContext, type Target } from './phases.ts';
import { freePort } from '../../infra/ports.ts';
import { processorFigures, processorPhaseFigures, type PhaseWindow } from './processors.ts';
import { scrapeMetric, startNode, waitReady, type Proc } from './procs.ts';
import { hotSpots, type HotSpot } from './profile.ts';
import { charts, computeRatios, computeTargets, markdown } from './report.ts';
import type { BenchResults, ProcessorComparison, ProcessorFigures, ProcessorPhaseFigures, RuleCostFigures } from './results.ts';
import { writeBenchRules } from './rules.ts';
import { runProcessorComparison, runRuleCost } from './peers.ts';
import { runMemoryBench, type MemoryFigures } from './memory.ts';
import { sleep } from '../../lib/time.ts';
import { startOtlpSink, tracingPhase, type OtlpSink, type TracingFigures } from './tracing.ts';

/** Frames the traced edge of the tracing phase samples: the rate the issue asks to cost. */
const TRACE_SAMPLE_RATE = 0.01;

export const PHASES = ['ingest', 'offers', 'idle', 'tracing', 'processors', 'rules', 'memory'] as const;
export type Phase = (typeof PHASES)[number];

export interface RunOptions {
  readonly runId: string;
  readonly mode: 'quick' | 'full';
  readonly plan: BenchPlan;
  readonly phases: ReadonlySet<Phase>;
  readonly profile: boolean;
  readonly config: Config;
  readonly env: NodeJS.ProcessEnv;
  readonly machine: Machine;
  readonly runDir: string;
  readonly outDir: string;
  readonly startedAt: Date;
  /** Also write load/results/baseline.json and the charts under load/charts/ (a deliberate refresh). */
  readonly baseline: boolean;
  /**
   * The processors and offers roles stopped (SIGSTOP) from readiness to the end of the
   * traffic: what the edges and Kafka do with the machine to themselves. For finding what
   * limits the edge; the processors' figures of such a run mean nothing.
   */
  readonly edgeAlone?: boolean;
}

/** Committed copies of the baseline run's table and charts, shown in load/README.md. */
const CHARTS_DIR = 'load/charts';
const BENCH_SECRET = 'playpulse-bench-secret-0123456789';
const READY_TIMEOUT_MS = 60_000;

export async function runBench(o: RunOptions): Promise<{ markdown: string; files: string[] }> {
  const t0 = Date.now();
  const progress = (what: string) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(1)} s] ${what}\n`);
  const quick = o.mode === 'quick';
  const logDir = join(o.runDir, 'logs');
  const profDir = join(o.runDir, 'profiles');
  const rulesDir = writeBenchRules('offers/rules', join(o.runDir, 'rules'));
  const [edgePort, peerPort, procHealth, offersHealth, adminPort, tracedPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const base: NodeJS.ProcessEnv = {
    ...o.env,
    KAFKA_BROKERS: (o.config.kafkaBrokers ?? []).join(','),
    REDIS_URL: o.config.redisUrl ?? '',
    PLAYPULSE_AUTH_SECRET: BENCH_SECRET,
    PLAYPULSE_ADMIN_TOKEN: `${BENCH_SECRET}-admin`,
    PLAYPULSE_RULES_DIR: rulesDir,
    PLAYPULSE_LOG_LEVEL: 'warn',
    PLAYPULSE_LOG_PRETTY: '0',
    PLAYPULSE_RATE_PER_SEC: '1000000',
    PLAYPULSE_RATE_BURST: '1000000',
    KAFKAJS_NO_PARTITIONER_WARNING: '1',
    ADMIN_PORT: String(adminPort),
  };
  const nodeFlags = o.profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  if (o.profile) mkdirSync(profDir, { recursive: true });
  const procs: Proc[] = [];
  const notes: string[] = [];
  let lag: LagSampler | null = null;
  const ctx: PhaseContext = { runId: o.runId, secret: BENCH_SECRET, generators: 2 };

  const fixed: IngestFigures[] = [];
  const saturation: IngestFigures[] = [];
  const manyPlayers: IngestFigures[] = [];
  const smallFrames: IngestFigures[] = [];
  const offers: OffersFigures[] = [];
  const idle: IdleFigures[] = [];
  const processors: ProcessorFigures[] = [];
  let processorPhases: ProcessorPhaseFigures[] = [];
  const windows: PhaseWindow[] = [];
  let rules: RuleCostFigures | null = null;
  let memory: MemoryFigures | null = null;
  let tracing: TracingFigures | null = null;
  let sink: OtlpSink | null = null;
  let processorComparison: ProcessorComparison | null = null;
  let profiles: Record<string, HotSpot[]> = {};
  let trafficFrom = 0;
  let trafficTo = 0;
  const paused: number[] = [];

  try {
    // Each role starts with the Node flags it is shipped with (bin/node-flags.ts); a bin/start.ts process is named by its role.
    const start = (name: string, args: string[], env: NodeJS.ProcessEnv, script = 'bin/start.ts', role = name) => {
      const roleFlags = script === 'bin/start.ts' ? nodeFlagsFor([role as Role]) : [];
      const p = startNode({ name, script, args, env: { ...base, ...env }, logDir, nodeFlags: script === 'bin/start.ts' ? [...roleFlags, ...nodeFlags] : [] });
      procs.push(p);
      return p;
    };
    // The tracing phase: an OTLP sink here, the processors tracing what arrives traced, a second edge sampling 1% of frames.
    sink = o.phases.has('tracing') ? await startOtlpSink() : null;
    const otel = sink ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, PLAYPULSE_TRACE_SAMPLE_RATE: String(TRACE_SAMPLE_RATE) } : {};
    const procP = start('processors', ['--role', 'processors'], { HEALTH_PORT: String(procHealth), ...otel });
    const offersP = start('offers', ['--role', 'offers'], { HEALTH_PORT: String(offersHealth) });
    const edgeP = start('edge', ['--role', 'edge'], { EDGE_PORT: String(edgePort) });
    const peerP = start('ws-peer', [], { EDGE_PORT: String(peerPort) }, 'load/peers/ws-edge.ts');
    const tracedP = sink ? start('edge-traced', ['--role', 'edge'], { EDGE_PORT: String(tracedPort), ...otel }, 'bin/start.ts', 'edge') : null;
    await Promise.all([
      ...(tracedP ? [waitReady(tracedP, `http://127.0.0.1:${tracedPort}/readyz`, READY_TIMEOUT_MS)] : []),
      waitReady(procP, `http://127.0.0.1:${procHealth}/readyz`, READY_TIMEOUT_MS),
      waitReady(offersP, `http://127.0.0.1:${offersHealth}/readyz`, READY_TIMEOUT_MS),
      waitReady(edgeP, `http://127.0.0.1:${edgePort}/readyz`, READY_TIMEOUT_MS),
      waitReady(peerP, `http://127.0.0.1:${peerPort}/readyz`, READY_TIMEOUT_MS),
    ]);
    progress('system under test and ws peer ready');
    if (o.edgeAlone) {
      for (const p of [procP, offersP]) process.kill(p.pid, 'SIGSTOP');
      paused.push(procP.pid, offersP.pid);
      notes.push('Run with --edge-alone: the processors and offers roles were stopped (SIGSTOP) during the traffic, so the edges, Kafka and the load generators had the machine; processor figures of this run mean nothing.');
      progress('processors and offers stopped (--edge-alone)');
    }
    // Our edges write a record per frame: their counters say how many events beyond one per record are in the topic.
    const ourEdges = [edgePort, ...(tracedP ? [tracedPort] : [])].map((port) => `http://127.0.0.1:${port}/metrics`);
    const extraEvents = async (): Promise<number | null> => {
      let extra = 0;
      for (const url of ourEdges) {
        const [events, records] = await Promise.all([scrapeMetric(url, 'playpulse_edge_events_produced_total'), scrapeMetric(url, 'playpulse_edge_records_produced_total')]);
        if (events === null || records === null) return null;
        extra += events - records;
      }
      return extra;
    };
    lag = await startLagSampler(o.config.kafkaBrokers ?? [], o.config.topics.events, 500, extraEvents);
    const ours: Target = {
      name: 'ours',
      url: `ws://127.0.0.1:${edgePort}`,
      edgePid: edgeP.pid,
      metricsUrl: `http://127.0.0.1:${edgePort}/metrics`,
      pids: { edge: edgeP.pid, processors: procP.pid, offers: offersP.pid },
    };
    const peer: Target = {
      name: 'ws peer',
      url: `ws://127.0.0.1:${peerPort}`,
      edgePid: peerP.pid,
      metricsUrl: `http://127.0.0.1:${peerPort}/metrics`,
      pids: { edge: peerP.pid, processors: procP.pid, offers: offersP.pid },
    };
    const warmupMs = quick ? 1_000 : 3_000;
    // With the processors stopped nothing drains the lag: no wait.
    const settle = () => (o.edgeAlone ? Promise.resolve() : waitForLag(lag, quick ? 2_000 : 30_000));
    // Each traffic phase's window, for the processors' figures per phase.
    const timed = async <T>(w: Omit<PhaseWindow, 'fromMs' | 'toMs'>, run: () => Promise<T>): Promise<T> => {
      const fromMs = Date.now();
      const out = await run();
      windows.push({ ...w, fromMs, toMs: Date.now() });
      return out;
    };

    if (o.phases.has('idle')) {
      for (const target of [ours, peer]) {
        idle.push(await idlePhase(target, o.plan.idle, ctx, quick ? 500 : 3_000));
        progress(`idle connections, ${target.name}`);
      }
      if (o.plan.idle.connections >= 19_000) {
        notes.push(`The open-file limit here is ${o.machine.openFilesLimit.soft} (hard ${o.machine.openFilesLimit.hard}) and cannot be raised without CAP_SYS_RESOURCE, so one process holds at most about that many sockets; the 100,000-connection target is projected from the per-connection memory, not held.`);
      }
    }
    trafficFrom = Date.now();
    if (o.phases.has('offers')) {
      for (const [role, plan] of [['ol', o.plan.offersLight], ['oh', o.plan.offers]] as const) {
        if (!plan) continue;
        offers.push(await timed({ phase: 'offers', target: ours.name, offeredPerSec: plan.background.ratePerSec }, () => offersPhase(ours, plan, ctx, role, warmupMs)));
        progress(`event to offer beside ${plan.background.ratePerSec} events/s, ours`);
        await settle();
      }
    }
    if (o.phases.has('ingest')) {
      for (const target of [ours, peer]) {
        fixed.push(await timed({ phase: 'fixed', target: target.name, offeredPerSec: o.plan.ingestFixed.ratePerSec }, () => ingestPhase(target, o.plan.ingestFixed, ctx, `fx${target === ours ? 'o' : 'p'}`, warmupMs)));
        progress(`ingest at a fixed rate, ${target.name}`);
        await settle();
      }
      // Game-client traffic: many sockets, small frames now and then; then every event a frame of its own.
      for (const [list, plan, tag, what, phase] of [
        [manyPlayers, o.plan.ingestManyPlayers, 'mp', 'many players, small frames', 'manyPlayers'],
        [smallFrames, o.plan.ingestSmallFrames, 'sf', 'one-event frames at a fixed rate', 'smallFrames'],
      ] as const) {
        if (!plan) continue;
        for (const target of [ours, peer]) {
          list.push(await timed({ phase, target: target.name, offeredPerSec: plan.ratePerSec }, () => ingestPhase(target, plan, ctx, `${tag}${target === ours ? 'o' : 'p'}`, warmupMs)));
          progress(`ingest, ${what}, ${target.name}`);
          await settle();
        }
      }
    }
    if (sink && tracedP) {
      const traced: Target = { ...ours, name: 'ours, tracing 1%', url: `ws://127.0.0.1:${tracedPort}`, edgePid: tracedP.pid, metricsUrl: `http://127.0.0.1:${tracedPort}/metrics`, pids: { ...ours.pids, edge: tracedP.pid } };
      tracing = await tracingPhase(ours, traced, o.plan.ingestFixed, ctx, { sampleRate: TRACE_SAMPLE_RATE, rounds: quick ? 1 : 3, warmupMs, sink, settle });
      progress('tracing cost: off and at 1%');
    }
    // Saturation last of all: it leaves the processors a backlog of a million events or more,
    // which they work off for minutes, longer than a settle waits; a fixed-rate phase after
    // it would measure the edges beside that catch-up instead of beside live traffic.
    if (o.phases.has('ingest')) {
      for (const target of [ours, peer]) {
        saturation.push(await timed({ phase: 'saturation', target: target.name, offeredPerSec: 'saturation' }, () => ingestPhase(target, o.plan.ingestSaturation, ctx, `st${target === ours ? 'o' : 'p'}`, warmupMs)));
        progress(`ingest at saturation, ${target.name}`);
        await settle();
      }
    }
    trafficTo = Date.now();
    // The stopped roles go on before anything below asks them (their /metrics).
    resume(paused);
    // Rebalances during the traffic phases: a process joins once at start; any join after
    // that is a rebalance it took part in (an eviction under load shows here).
    const joins = await scrapeMetric(`http://127.0.0.1:${procHealth}/metrics`, 'playpulse_processor_group_joins_total');
    if (joins !== null) {
      notes.push(`Processors consumer group: ${joins} join${joins === 1 ? '' : 's'} over the run (1 = no rebalance after the first join; session ${o.env.PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS ?? 'default'} ms).`);
    }
    await lag.stop();
    const { startedAt: lagZero } = lag;
    const samples = inEvents(lag.samples);
    lag = null;
    const groups = [...new Set(samples.flatMap((s) => Object.keys(s.groups)))];
    for (const g of groups) {
      const f = processorFigures('ours', g, samples, trafficFrom - lagZero, Math.max(trafficTo, trafficFrom + 1) - lagZero);
      if (f) processors.push(f);
    }
    processorPhases = processorPhaseFigures(windows, samples, lagZero);
    if (o.phases.has('processors')) {
      processorComparison = await runProcessorComparison({ env: base, quick });
      progress('processors, ours and naive on the same events');
    }
    if (o.phases.has('rules')) {
      rules = await runRuleCost({ env: base, logDir });
      progress('rule evaluation cost');
    }
    if (o.phases.has('memory')) {
      memory = await runMemoryBench({ config: o.config, quick, runId: o.runId });
      progress('Redis memory per player');
    }
  } finally {
    resume(paused);
    await lag?.stop().catch(() => undefined);
    await Promise.all(procs.map((p) => p.stop()));
    await sink?.close();
  }
  if (o.profile && existsSync(profDir)) profiles = summarizeProfiles(profDir, procs);

  // The load at the end counts the bench's own processes (Kafka, Redis, the roles, the
  // generators); only the load found at the start says something else was using the CPUs.
  const busyAtStart = o.machine.loadAvgAtStart[0] ?? 0;
  if (busyAtStart >= o.machine.cores / 2) {
    notes.push(
      `Load average ${o.machine.loadAvgAtStart.join(' ')} at the start, before the bench started anything, on ${o.machine.cores} cores: other work was using the CPUs, so these figures may understate the system. At the end, with the bench's own processes counted: ${loadavg().map((v) => v.toFixed(2)).join(' ')}.`,
    );
  }
  const ratios = computeRatios({ ingest: { fixed, saturation, manyPlayers, smallFrames }, idle, processorComparison });
  const results: BenchResults = {
    version: 1,
    runId: o.runId,
    mode: o.mode,
    startedAt: o.startedAt.toISOString(),
    durationSec: Math.round((Date.now() - t0) / 1000),
    machine: o.machine,
    plan: o.plan,
    ingest: { fixed, saturation, manyPlayers, smallFrames },
    offers,
    idle,
    processors,
    processorPhases,
    processorComparison,
    rules,
    memory,
    tracing,
    ratios,
    targets: computeTargets({ ingest: { fixed, saturation, manyPlayers, smallFrames }, idle, offers, memory, tracing, rules, processorPhases }, ratios),
    profiles,
    notes,
  };
  return writeResults(results, o.outDir, o.runDir, o.baseline);
}

/** SIGCONT to every process of `pids` (emptied); one already gone is skipped. */
function resume(pids: number[]): void {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // already gone: nothing to resume
    }
  }
}

async function waitForLag(lag: LagSampler | null, maxMs: number): Promise<void> {
  const until = Date.now() + maxMs;
  while (lag && Date.now() < until) {
    const last = lag.samples[lag.samples.length - 1];
    if (last && Object.values(last.groups).every((g) => g.lag === 0)) return;
    await sleep(250);
  }
}

function summarizeProfiles(dir: string, procs: readonly Proc[]): Record<string, HotSpot[]> {
  const out: Record<string, HotSpot[]> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const m = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\./.exec(file);
    if (!m || m[2] !== '0') continue;
    const pid = Number(m[1]);
    const name = procs.find((p) => p.pid === pid)?.name ?? file;
    out[name] = hotSpots(join(dir, file));
  }
  return out;
}

function writeResults(results: BenchResults, outDir: string, runDir: string, baseline: boolean): { markdown: string; files: string[] } {
  const md = markdown(results);
  const files: string[] = [];
  const write = (path: string, text: string) => {
    writeFileSync(path, text);
    files.push(path);
  };
  write(join(outDir, `${results.runId}.json`), `${JSON.stringify(results, null, 2)}\n`);
  write(join(outDir, `${results.runId}.md`), md);
  for (const [name, svg] of Object.entries(charts(results))) write(join(runDir, name), svg);
  if (baseline) {
    write(join(outDir, 'baseline.json'), `${JSON.stringify(results, null, 2)}\n`);
    mkdirSync(CHARTS_DIR, { recursive: true });
    write(join(CHARTS_DIR, 'baseline.md'), md);
    for (const [name, svg] of Object.entries(charts(results))) write(join(CHARTS_DIR, name), svg);
  }
  return { markdown: md, files };
}
