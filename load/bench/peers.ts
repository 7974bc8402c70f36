/**
 * The bench's other comparisons, each run as its own process after the traffic phases: the
 * processor comparison with the naive peer (load/bench/processors-throughput.ts) and the rule-evaluation
 * cost (load/bench/offers-engine.ts). Both run our decision path in their own process, so
 * they start with the Node flags of the processors role (bin/node-flags.ts), as deployed;
 * the peers in the same process run with the same flags.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { nodeFlagsFor } from '../../bin/node-flags.ts';
import type { DecisionRates, ProcessorComparison, RuleCostFigures, RulesComparison } from './results.ts';

const RULE_BENCH = 'load/bench/offers-engine.ts';
const PROCESSOR_BENCH = 'load/bench/processors-throughput.ts';

/** The processors role's Node flags: the decision path runs in these scripts. */
export const DECISION_PATH_FLAGS = nodeFlagsFor(['processors']);

/** Runs a script to completion (bounded by `timeoutMs`) with the decision path's Node flags and returns its stdout lines. */
function runScript(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; lines: string[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...DECISION_PATH_FLAGS, '--import', 'tsx', script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, lines: out.split('\n').filter((l) => l.trim().length > 0 && !l.startsWith('{"level"')) });
    });
  });
}

export async function runRuleCost(opts: { env: NodeJS.ProcessEnv; logDir: string }): Promise<RuleCostFigures | null> {
  if (!existsSync(RULE_BENCH)) return null;
  const t0 = Date.now();
  const r = await runScript(RULE_BENCH, [], opts.env, 90_000);
  const json = [...r.lines].reverse().find((l) => l.startsWith('{'));
  let figures: unknown = null;
  try {
    figures = json ? JSON.parse(json) : null;
  } catch {
    figures = null;
  }
  return {
    source: `${RULE_BENCH} (exit ${r.code ?? 'killed'}, ${Math.round((Date.now() - t0) / 1000)} s; node ${DECISION_PATH_FLAGS.join(' ')})`,
    lines: r.lines.filter((l) => !l.startsWith('{')).slice(0, 20),
    figures,
    decisionsPerSec: decisionRates(figures),
  };
}

/** The decisions per second of offers-engine.ts's JSON line; null unless it has the pure and the Redis figures. */
export function decisionRates(figures: unknown): DecisionRates | null {
  const rate = (key: string): number | null => {
    const part = figures !== null && typeof figures === 'object' ? (figures as Record<string, unknown>)[key] : undefined;
    const v = part !== null && typeof part === 'object' ? (part as Record<string, unknown>).decisionsPerSec : undefined;
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  };
  const pure = rate('pure');
  const redis = rate('redis');
  return pure === null || redis === null ? null : { pure, redis, redisWithLift: rate('redisWithLift'), redisWithLiveOps: rate('redisWithLiveOps') };
}

/**
 * Processor throughput on the same events, ours against the naive peer: load/bench/processors-throughput.ts
 * (written with the processors) produces a fixed set of events to a fresh topic of the run's
 * Kafka, drains it with our processors (player state only) and then with load/peers/naive-processor.ts,
 * each counting applied events, and checks both reached the same state.
 */
export async function runProcessorComparison(opts: { env: NodeJS.ProcessEnv; quick: boolean }): Promise<ProcessorComparison | null> {
  if (!existsSync(PROCESSOR_BENCH)) return null;
  const t0 = Date.now();
  const args = opts.quick ? ['--events', '10000'] : [];
  const r = await runScript(PROCESSOR_BENCH, args, opts.env, opts.quick ? 120_000 : 480_000);
  const json = [...r.lines].reverse().find((l) => l.startsWith('{"machine"'));
  if (!json) return { source: `${PROCESSOR_BENCH} ${args.join(' ')} (exit ${r.code ?? 'killed'}, no result line)`, events: 0, ours: 0, naive: 0, ratio: null, stateCheck: r.lines.slice(-3).join(' / ') };
  const parsed = JSON.parse(json) as { options: { events: number }; ours: { eventsPerSec: number }; naive: { eventsPerSec: number }; stateCheck: string; withRules?: RulesRun | null };
  return {
    source: `${PROCESSOR_BENCH} ${args.join(' ')} (${Math.round((Date.now() - t0) / 1000)} s; node ${DECISION_PATH_FLAGS.join(' ')})`.replace('  ', ' '),
    events: parsed.options.events,
    ours: parsed.ours.eventsPerSec,
    naive: parsed.naive.eventsPerSec,
    ratio: parsed.naive.eventsPerSec > 0 ? Math.round((100 * parsed.ours.eventsPerSec) / parsed.naive.eventsPerSec) / 100 : null,
    stateCheck: parsed.stateCheck,
    withRules: parsed.withRules ? rulesComparison(parsed.options.events, parsed.withRules) : null,
  };
}

interface RulesRun {
  readonly ours: { events: number; eventsPerSec: number; offers: number };
  readonly naive: { events: number; eventsPerSec: number; offers: number };
}

function rulesComparison(events: number, w: RulesRun): RulesComparison {
  return { events, ours: w.ours.eventsPerSec, naive: w.naive.eventsPerSec, oursEvents: w.ours.events, naiveEvents: w.naive.events, oursOffers: w.ours.offers, naiveOffers: w.naive.offers };
}
