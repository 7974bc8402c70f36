import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import { createLogger } from '../../lib/log.ts';
import type { BundleSource } from '../../designer/types.ts';
import type { EngineContext } from '../engine/decide.ts';
import { offerMetrics } from '../engine/metrics.ts';
import { runExpiry } from './expiry.ts';
import { runFollowUp, type ReadState } from './follow-up.ts';
import { runFulfilment } from './fulfilment.ts';
import { QUEUE_NAMES, type OfferQueues } from './queues.ts';

export interface OfferWorkersDeps {
  readonly engine: EngineContext;
  readonly queues: OfferQueues;
  readonly bundles: BundleSource;
  readonly readState: ReadState;
  readonly fulfilmentUrl: string | null;
  readonly prefix: string;
  readonly concurrency?: number;
}

const log = createLogger('offer-jobs');

/**
 * The lifecycle workers: expiry, follow-up, fulfilment. Stalled jobs (a worker died holding
 * one) are moved back to wait by BullMQ's stalled check and run again; every job is
 * idempotent, so a second run changes nothing. `close()` stops taking jobs and waits for
 * the running ones.
 */
export function startOfferWorkers(deps: OfferWorkersDeps): { close(): Promise<void> } {
  const base = {
    connection: deps.queues.connection as unknown as ConnectionOptions,
    prefix: deps.prefix,
    concurrency: deps.concurrency ?? 16,
    maxStalledCount: 3,
  };
  const workers = [
    new Worker(QUEUE_NAMES.expiry, (job: Job, token?: string) => runExpiry(deps.engine, job, token), base),
    new Worker(QUEUE_NAMES.followUp, (job: Job) => runFollowUp(deps.engine, deps.bundles, deps.readState, job), base),
    new Worker(QUEUE_NAMES.fulfilment, (job: Job) => runFulfilment(deps.engine, deps.fulfilmentUrl, job), base),
  ];
  for (const w of workers) {
    const queue = w.name;
    w.on('completed', () => offerMetrics.jobs.inc({ queue, result: 'ok' }));
    w.on('failed', (job, err) => {
      offerMetrics.jobs.inc({ queue, result: 'failed' });
      log.warn({ queue, job: job?.id, attempts: job?.attemptsMade, err: err.message }, 'offer job failed');
    });
    w.on('stalled', (jobId) => {
      offerMetrics.jobs.inc({ queue, result: 'stalled' });
      log.warn({ queue, job: jobId }, 'offer job stalled; it runs again');
    });
    w.on('error', (err) => log.warn({ queue, err: err.message }, 'offer worker error'));
  }
  return {
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
