import type { Config } from '../../lib/config.ts';
import type { BundleSource } from '../../designer/types.ts';
import { openBacktestQueue, startBacktestWorker, type BacktestQueue } from './queue.ts';

/**
 * Backtests in a process that serves the admin API: the queue the routes submit to and
 * read from, and one worker that runs the jobs. `close()` stops the worker (a running job
 * is left to BullMQ's stalled-job handling) and closes the queue.
 */
export interface Backtests {
  readonly queue: BacktestQueue;
  close(): Promise<void>;
}

export function startBacktests(deps: { readonly config: Config; readonly bundles: BundleSource }): Backtests {
  const queue = openBacktestQueue(deps.config);
  const worker = startBacktestWorker({ config: deps.config, published: () => deps.bundles.current() });
  return {
    queue,
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
