import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Config } from '../../lib/config.ts';
import { offerKeys } from '../../lib/keys.ts';
import { createLogger } from '../../lib/log.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import type { Bundle } from '../../designer/types.ts';
import type { BacktestReport } from './report.ts';
import { runBacktest, type BacktestProgress, type BacktestRequest } from './run.ts';
import { PlayPulseError } from '../../lib/errors.ts';

/**
 * Backtests run as BullMQ jobs on the queue `{backtest}` under `<keyPrefix>:bull`, one at a
 * time per worker. The job's data is the request (draft files and a window resolved to
 * epoch ms, so a job is reproducible), its progress a BacktestProgress, its return value
 * the BacktestReport. Finished jobs are kept a day (and at most 50) for GET
 * /v1/rules/backtest/{id}.
 */
export const BACKTEST_QUEUE = '{backtest}';
const KEEP = { age: 24 * 3600, count: 50 };

const log = createLogger('backtest');

export interface BacktestJobView {
  readonly id: string;
  readonly state: string;
  readonly progress: BacktestProgress | null;
  readonly report: BacktestReport | null;
  readonly error: string | null;
  readonly request: { readonly from: number; readonly to: number };
}

export interface BacktestQueue {
  readonly queue: Queue<BacktestRequest, BacktestReport>;
  submit(request: BacktestRequest): Promise<string>;
  view(id: string): Promise<BacktestJobView | null>;
  close(): Promise<void>;
}

function queueOptions(config: Config, connection: RedisClient) {
  return { connection: connection as unknown as ConnectionOptions, prefix: offerKeys(config.keyPrefix).bullPrefix };
}

export function openBacktestQueue(config: Config): BacktestQueue {
  if (!config.redisUrl) throw new PlayPulseError('CONFIG_INVALID', 'openBacktestQueue needs a resolved REDIS_URL');
  const connection = createRedis(config.redisUrl, 'backtest-queue');
  connection.on('error', () => undefined);
  const queue = new Queue<BacktestRequest, BacktestReport>(BACKTEST_QUEUE, {
    ...queueOptions(config, connection),
    defaultJobOptions: { attempts: 1, removeOnComplete: KEEP, removeOnFail: KEEP },
  });
  queue.on('error', (err) => log.warn({ err: err.message }, 'backtest queue error'));
  return {
    queue,
    async submit(request) {
      const job = await queue.add('backtest', request);
      // programmer error: BullMQ gives every added job an id
      if (job.id === undefined) throw new Error('BullMQ gave the backtest job no id');
      return job.id;
    },
    async view(id) {
      // The state first, then the job: BullMQ records a job's return value and moves it to
      // `completed` in one script, so a job read after its state is `completed` has its
      // report. Read the other way round, the job could be read just before it finished
      // and its state just after: `completed` with no report.
      const state = await queue.getJobState(id);
      const job = await queue.getJob(id);
      return job ? viewOf(job, state) : null;
    },
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}

function viewOf(job: Job<BacktestRequest, BacktestReport>, state: string): BacktestJobView {
  const p = job.progress;
  return {
    id: job.id ?? '',
    state,
    progress: p && typeof p === 'object' ? (p as BacktestProgress) : null,
    report: state === 'completed' ? (job.returnvalue ?? null) : null,
    error: state === 'failed' ? (job.failedReason ?? 'failed') : null,
    request: { from: job.data.from, to: job.data.to },
  };
}

export interface BacktestWorkerDeps {
  readonly config: Config;
  /** The published bundle at the time a job runs, compared side by side with the draft; null: none. */
  readonly published: () => Bundle | null;
}

/** Runs backtest jobs (one at a time) until closed. */
export function startBacktestWorker(deps: BacktestWorkerDeps): { close(): Promise<void> } {
  const { config } = deps;
  if (!config.redisUrl) throw new PlayPulseError('CONFIG_INVALID', 'startBacktestWorker needs a resolved REDIS_URL');
  const connection = createRedis(config.redisUrl, 'backtest-worker');
  connection.on('error', () => undefined);
  const redis = createRedis(config.redisUrl, 'backtest');
  redis.on('error', () => undefined);
  const worker = new Worker<BacktestRequest, BacktestReport>(
    BACKTEST_QUEUE,
    async (job) => {
      log.info({ job: job.id, from: job.data.from, to: job.data.to }, 'backtest started');
      const report = await runBacktest(
        { config, redis, published: deps.published() },
        job.id ?? 'job',
        job.data,
        (progress) => void job.updateProgress(progress).catch(() => undefined),
      );
      log.info({ job: job.id, events: report.window.events, elapsedMs: report.elapsedMs }, 'backtest finished');
      return report;
    },
    { ...queueOptions(config, connection), concurrency: 1, lockDuration: 60_000 },
  );
  worker.on('error', (err) => log.warn({ err: err.message }, 'backtest worker error'));
  worker.on('failed', (job, err) => log.warn({ job: job?.id, err: err.message }, 'backtest failed'));
  return {
    async close() {
      await worker.close();
      connection.disconnect();
      redis.disconnect();
    },
  };
}
