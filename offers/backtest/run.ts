import type { Config } from '../../lib/config.ts';
import { PlayPulseError } from '../../lib/errors.ts';
import { createKafka } from '../../lib/kafka.ts';
import { deleteKeysUnder, type RedisClient } from '../../lib/redis.ts';
import { applyItems, DEFAULT_SEEN_AGE_MS, DEFAULT_SEEN_MAX } from '../../processors/apply.ts';
import { planFor } from '../../processors/plan.ts';
import { withScripts } from '../../processors/scripts.ts';
import { compileBundle } from '../../designer/compile.ts';
import { refusal } from '../admin/rules.ts';
import { staticBundleSource } from '../../designer/static-source.ts';
import type { Bundle } from '../../designer/types.ts';
import { createDecider } from '../engine/decider.ts';
import type { DecisionRecord } from '../engine/explain.ts';
import { decideFollowUp, type ReadState } from '../jobs/follow-up.ts';
import type { FollowUpJob } from '../jobs/queues.ts';
import { readPlayerState } from '../../processors/state.ts';
import type { EventRecord } from '../../protocol/record.ts';
import { splitAtPurchases } from './chunks.ts';
import { readLiveRates } from './rates.ts';
import { readWindow, resolveWindow, type ReadStats, type WindowRead } from './reader.ts';
import { ReportBuilder, type BacktestReport, type BundleReport } from './report.ts';
import { scratchPrefix } from '../../lib/keys.ts';

/**
 * One backtest: the window's retained events replayed through a bundle — properties
 * rebuilt from the start of the window by the processors' apply code, decisions made by
 * the live decider — into a scratch namespace, with delivery and lifecycle jobs off. Every
 * limit, budget, arm, holdout and fatigue rule is counted in the scratch namespace, so
 * nothing live is read except the live purchase rates, and nothing live is written. Delivery
 * is off: offers are routed to no edge (`delivered` stays 0) and no expiry or fulfilment job
 * is scheduled. Follow-ups are simulated: a follow-up an offer schedules is decided in the
 * replay at its due time — after every event before it, before every event at or after it —
 * exactly as the follow-up job would (jobs/follow-up.ts); those due after the window are
 * not. The
 * draft and the published bundle share one read of the window, each with its own
 * namespace; the scratch keys are deleted at the end, also on failure (and at the start, for
 * a stalled job that BullMQ runs again).
 *
 * Deterministic: the window is read in merge.ts order, each player's events in their order.
 * Players are decided in parallel; a budget is the only state players share, and while no
 * budget runs out the order between players changes nothing. When one does run out, the
 * pass is redone one player at a time, so who got the last units is the same every run.
 */
export interface BacktestRequest {
  /** The draft: file name -> YAML. */
  readonly files: Readonly<Record<string, string>>;
  /** Window, epoch ms: [from, to). */
  readonly from: number;
  readonly to: number;
}

export interface BacktestProgress {
  /** `replaying`: both bundles at once. `draft`/`published` (one bundle again) are kept in the schema; this version does not send them. */
  readonly phase: 'reading' | 'replaying' | 'draft' | 'published' | 'done';
  readonly done: number;
  readonly total: number;
  readonly percent: number;
}

export interface BacktestDeps {
  readonly config: Config;
  readonly redis: RedisClient;
  /** The published bundle to compare with; null to backtest the draft alone. */
  readonly published: Bundle | null;
}

const CHUNK = 2_000;

/** Compiles the draft or throws RULE_* (422) with every diagnostic — the compiler of `rules validate`. */
export function compileDraft(files: Readonly<Record<string, string>>): Bundle {
  const result = compileBundle(files);
  if (result.ok) return result.bundle;
  throw refusal(result.diagnostics, 'the draft does not compile; nothing was backtested');
}

export async function runBacktest(
  deps: BacktestDeps,
  jobId: string,
  request: BacktestRequest,
  onProgress: (p: BacktestProgress) => void = () => undefined,
): Promise<BacktestReport> {
  const started = Date.now();
  const draft = compileDraft(request.files);
  const { config, redis } = deps;
  if (!config.kafkaBrokers) throw new PlayPulseError('CONFIG_INVALID', 'KAFKA_BROKERS is not resolved');
  const kafka = createKafka(config.kafkaBrokers, `playpulse-backtest-${jobId}`);
  const scratch = scratchPrefix(config.keyPrefix, jobId);

  onProgress({ phase: 'reading', done: 0, total: 0, percent: 0 });
  await deleteKeysUnder(redis, scratch);
  const window = await resolveWindow(kafka, config.topics.events, request.from, request.to);
  const sides: Side[] = [{ name: 'draft', bundle: draft, prefix: `${scratch}:draft` }];
  if (deps.published) sides.push({ name: 'published', bundle: deps.published, prefix: `${scratch}:published` });

  const total = window.total;
  let done = 0;
  const progress = (phase: BacktestProgress['phase']) => (read: number) =>
    onProgress({ phase, done: done + read, total, percent: total === 0 ? 100 : Math.min(100, Math.floor(((done + read) / total) * 100)) });
  try {
    const group = `${config.keyPrefix}.bt.${jobId}`;
    const first = await replay(deps, kafka, window, request.to, `${group}.all`, sides, progress('replaying'));
    done += window.total;
    const passes = new Map(first.passes.map((p, i) => [sides[i]?.name, p]));
    onProgress({ phase: 'done', done: total, total, percent: 100 });
    const live = await readLiveRates(redis, config.keyPrefix, [...new Set(sides.flatMap((s) => s.bundle.rules.map((r) => r.id)))]);
    const reportOf = (side: Side | undefined): BundleReport | null => {
      const pass = side ? passes.get(side.name) : undefined;
      return side && pass ? { version: side.bundle.version, hash: side.bundle.hash, rows: pass.builder.rows(live) } : null;
    };
    return {
      window: { from: request.from, to: request.to, events: first.read },
      draft: reportOf(sides[0]) as BundleReport,
      published: reportOf(sides[1]),
      elapsedMs: Date.now() - started,
    };
  } finally {
    await deleteKeysUnder(redis, scratch);
  }
}

interface Side {
  readonly name: 'draft' | 'published';
  readonly bundle: Bundle;
  readonly prefix: string;
}

interface Pass {
  readonly builder: ReportBuilder;
}

/**
 * One read of the window, applied and decided for every side at once (each in its own
 * namespace): per chunk, cut at purchases (chunks.ts), apply, then decide.
 */
async function replay(
  deps: BacktestDeps,
  kafka: ReturnType<typeof createKafka>,
  window: WindowRead,
  windowEnd: number,
  groupId: string,
  sides: readonly Side[],
  progress: (read: number) => void,
): Promise<{ passes: Pass[]; read: number }> {
  const applyRedis = withScripts(deps.redis);
  const runs = sides.map((side) => {
    const pass: Pass = { builder: new ReportBuilder(side.bundle) };
    const record = (playerId: string, r: DecisionRecord) => {
      pass.builder.add(playerId, r);
    };
    const followUps = new FollowUps();
    const decider = createDecider({
      config: { ...deps.config, keyPrefix: side.prefix },
      redis: deps.redis,
      bundles: staticBundleSource(side.bundle),
      queues: null,
      publish: async () => 0,
      onDecision: record,
      followUps: (job) => followUps.add(job),
    });
    const readState: ReadState = (playerId, bundle, now) => readPlayerState(deps.redis, side.prefix, playerId, bundle, now);
    /** Decides every follow-up due at or before `at`, in (due time, offer id) order. */
    const runDue = async (at: number) => {
      for (let job = followUps.takeDue(at); job; job = followUps.takeDue(at)) {
        const outcome = await decideFollowUp(decider.context, side.bundle, readState, job);
        if ('record' in outcome) record(job.playerId, outcome.record);
      }
    };
    return { side, pass, decider, plan: planFor(side.bundle), followUps, runDue, minAfterMs: minFollowUpDelay(side.bundle) };
  });
  type Run = (typeof runs)[number];
  type Item = { record: EventRecord; partition: number; offset: string; index: number };
  const applyAndDecide = async (run: Run, items: readonly Item[]) => {
    for (const part of splitAtPurchases(items)) {
      const outcome = await applyItems(applyRedis, run.plan, part, { keyPrefix: run.side.prefix, seenMax: DEFAULT_SEEN_MAX, seenAgeMs: DEFAULT_SEEN_AGE_MS });
      await run.decider.decideBatch(outcome.applied);
    }
  };
  /**
   * A chunk in time segments, so that each follow-up is decided between the events before
   * its due time and those at or after it. A segment is cut where a pending follow-up falls
   * due, and before it spans the shortest follow-up delay of the bundle: a follow-up
   * scheduled by a segment's events is then never due before the segment's last event.
   */
  const feed = async (run: Run, items: readonly Item[]) => {
    let segment: Item[] = [];
    let start = 0;
    for (const item of items) {
      const at = item.record.recvAt;
      const spansDelay = run.minAfterMs !== null && at - start >= run.minAfterMs;
      if (segment.length > 0 && (spansDelay || run.followUps.nextDue() <= at)) {
        await applyAndDecide(run, segment);
        segment = [];
      }
      await run.runDue(at);
      // The segment's earliest time (a partition's clock may lag another's a little).
      start = segment.length === 0 ? at : Math.min(start, at);
      segment.push(item);
    }
    if (segment.length > 0) await applyAndDecide(run, segment);
  };
  const stats: ReadStats = { read: 0, skipped: 0 };
  try {
    for await (const chunk of readWindow(kafka, deps.config.topics.events, window, groupId, stats, CHUNK)) {
      const items = chunk.map((c) => ({ record: c.item, partition: c.partition, offset: c.offset, index: c.index ?? 0 }));
      await Promise.all(runs.map((run) => feed(run, items)));
      progress(stats.read + stats.skipped);
    }
    // Follow-ups due before the window's end ran live before it ended.
    await Promise.all(runs.map((run) => run.runDue(windowEnd - 1)));
  } finally {
    await Promise.all(runs.map((r) => r.decider.close()));
  }
  return { passes: runs.map((r) => r.pass), read: stats.read };
}

/** The shortest `followUp.after` of the bundle's rules; null when no rule has a follow-up. */
function minFollowUpDelay(bundle: Bundle): number | null {
  const delays = bundle.rules.flatMap((r) => (r.followUp ? [r.followUp.afterMs] : []));
  return delays.length > 0 ? Math.min(...delays) : null;
}

/** Follow-ups scheduled in a replay, taken in (due time, offer id) order; each offer's once. */
export class FollowUps {
  private readonly pending: FollowUpJob[] = [];
  private readonly seen = new Set<string>();
  private sorted = true;

  add(job: FollowUpJob): void {
    if (this.seen.has(job.offerId)) return;
    this.seen.add(job.offerId);
    this.pending.push(job);
    this.sorted = false;
  }

  /** Due time of the next follow-up; Infinity when none is pending. */
  nextDue(): number {
    this.sort();
    return this.pending[0]?.dueAt ?? Infinity;
  }

  /** The next follow-up due at or before `at`, removed; null when none is. */
  takeDue(at: number): FollowUpJob | null {
    return this.nextDue() <= at ? (this.pending.shift() ?? null) : null;
  }

  private sort(): void {
    if (this.sorted) return;
    this.pending.sort((a, b) => a.dueAt - b.dueAt || (a.offerId < b.offerId ? -1 : a.offerId > b.offerId ? 1 : 0));
    this.sorted = true;
  }
}
