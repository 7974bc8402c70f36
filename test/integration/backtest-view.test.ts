/**
 * The backtest job view (offers/backtest/queue.ts `view`, behind GET /v1/rules/backtest/{id})
 * against real Redis and BullMQ: a job seen `completed` always comes with its report, even
 * when it is read at the moment it finishes. A raw BullMQ worker on the same queue stands in
 * for the backtest run, so jobs finish many times while they are being read.
 */
import { Worker, type ConnectionOptions } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { offerKeys } from '../../lib/keys.ts';
import { createRedis } from '../../lib/redis.ts';
import { sleep } from '../../lib/time.ts';
import { BACKTEST_QUEUE, openBacktestQueue } from '../../offers/backtest/queue.ts';
import type { BacktestReport } from '../../offers/backtest/report.ts';
import { cleanupRedisPrefix, testConfig } from '../helpers/stack.ts';

const JOBS = 40;
const config = testConfig();

afterAll(async () => {
  const redis = createRedis(config.redisUrl ?? '', 'test-backtest-view');
  await cleanupRedisPrefix(redis, config.keyPrefix);
  redis.disconnect();
});

describe('backtest job view', () => {
  it('never shows a job completed without its report, read as it finishes', async () => {
    const connection = createRedis(config.redisUrl ?? '', 'test-backtest-view-worker');
    // Finishes each job after a short, varying time: the reads below land on every moment of it.
    const worker = new Worker(
      BACKTEST_QUEUE,
      async (job) => {
        await sleep(Number(job.id) % 7);
        return { job: job.id } as unknown as BacktestReport;
      },
      { connection: connection as unknown as ConnectionOptions, prefix: offerKeys(config.keyPrefix).bullPrefix, concurrency: 1 },
    );
    const queue = openBacktestQueue(config);
    let reads = 0;
    try {
      for (let i = 0; i < JOBS; i++) {
        const id = await queue.submit({ files: {}, from: 0, to: 1 });
        for (;;) {
          const view = await queue.view(id);
          reads += 1;
          if (view?.state === 'completed') {
            expect(view.report, `job ${id} completed without its report`).toEqual({ job: id });
            break;
          }
          expect(view?.state).not.toBe('failed');
        }
      }
    } finally {
      await worker.close();
      await queue.close();
      connection.disconnect();
    }
    expect(reads).toBeGreaterThan(JOBS);
  }, 120_000);
});
