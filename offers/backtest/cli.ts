import type { Config } from '../../lib/config.ts';
import { withServices } from '../../lib/config.ts';
import { assertKafkaReachable } from '../../lib/kafka.ts';
import { assertRedisReachable, createRedis } from '../../lib/redis.ts';
import { compileBundle } from '../../designer/compile.ts';
import { formatDiagnostic } from '../../designer/diagnostics.ts';
import { loadBundleDir } from '../../designer/load.ts';
import type { Bundle } from '../../designer/types.ts';
import { BundleVersions } from '../../designer/versions.ts';
import { formatReport, progressBar } from './format.ts';
import { openBacktestQueue, startBacktestWorker } from './queue.ts';
import { resolveRequest } from './request.ts';
import { PlayPulseError } from '../../lib/errors.ts';
import { sleep } from '../../lib/time.ts';

/**
 * `npm run rules -- backtest <dir> --from <time> [--to <time>] [--json]`: queues a backtest
 * of the folder against the published version, runs a worker for it in this process (an
 * offers role elsewhere may take the job instead; the report is the same), draws a
 * progress bar on stderr and prints the report (or its JSON) on stdout.
 */
export interface BacktestCliContext {
  readonly positionals: readonly string[];
  readonly flags: Readonly<Record<string, string | boolean | undefined>>;
  readonly config: Config;
  out(text: string): void;
  err(text: string): void;
}

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const DEFAULT_KAFKA = ['127.0.0.1:9092'];
const POLL_MS = 250;

export const backtestCommand = {
  usage: 'backtest <dir> --from <time> [--to <time>] [--json]',
  summary: 'replay retained events through the folder and the published version, side by side',
  args: 1,
  options: { from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean', default: false } },
  run: runBacktestCli,
} as const;

async function runBacktestCli(ctx: BacktestCliContext): Promise<number> {
  const dir = ctx.positionals[0] as string;
  const loaded = loadBundleDir(dir);
  if (loaded.diagnostics.length > 0) {
    for (const d of loaded.diagnostics) ctx.err(`${formatDiagnostic(d)}\n`);
    return 1;
  }
  const from = typeof ctx.flags.from === 'string' ? ctx.flags.from : undefined;
  const to = typeof ctx.flags.to === 'string' ? ctx.flags.to : undefined;
  const request = resolveRequest({ from, to }, loaded.files, Date.now());

  const redisUrl = ctx.config.redisUrl ?? DEFAULT_REDIS_URL;
  const brokers = ctx.config.kafkaBrokers ?? DEFAULT_KAFKA;
  await Promise.all([assertRedisReachable(redisUrl, 3_000), assertKafkaReachable(brokers, ctx.config.kafkaConnectTimeoutMs)]);
  const config = withServices(ctx.config, { kafkaBrokers: brokers, redisUrl });
  const redis = createRedis(redisUrl, 'backtest-cli', { maxRetriesPerRequest: 2 });
  redis.on('error', () => undefined);
  const published = await publishedBundle(new BundleVersions(redis, config.keyPrefix));
  const queue = openBacktestQueue(config);
  const worker = startBacktestWorker({ config, published: () => published });
  const tty = process.stderr.isTTY === true;
  try {
    const id = await queue.submit(request);
    ctx.err(`backtest ${id}: ${new Date(request.from).toISOString()} .. ${new Date(request.to).toISOString()}, draft ${dir} vs ${published ? `published version ${published.version}` : 'no published version'}\n`);
    let last = '';
    for (;;) {
      const view = await queue.view(id);
      if (!view) throw new PlayPulseError('ADMIN_NOT_FOUND', `backtest job ${id} disappeared`);
      const p = view.progress;
      const bar = progressBar(p?.percent ?? 0, p ? `${p.phase}  ${p.done.toLocaleString('en-US')} / ${p.total.toLocaleString('en-US')} events` : view.state);
      if (bar !== last) {
        ctx.err(tty ? `\r${bar}` : `${bar}\n`);
        last = bar;
      }
      if (view.state === 'failed') {
        ctx.err(`${tty ? '\n' : ''}backtest failed: ${view.error ?? 'unknown error'}\n`);
        return 1;
      }
      if (view.state === 'completed' && view.report) {
        if (tty) ctx.err('\n');
        ctx.out(ctx.flags.json ? `${JSON.stringify(view.report, null, 2)}\n` : formatReport(view.report));
        return 0;
      }
      await sleep(POLL_MS);
    }
  } finally {
    await worker.close();
    await queue.close();
    redis.disconnect();
  }
}

async function publishedBundle(versions: BundleVersions): Promise<Bundle | null> {
  const current = await versions.currentVersion();
  const stored = current ? await versions.get(current) : null;
  if (!stored) return null;
  const res = compileBundle(stored.files, { version: current });
  return res.ok ? res.bundle : null;
}
