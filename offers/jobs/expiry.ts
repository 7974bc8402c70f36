import { DelayedError, type Job } from 'bullmq';
import type { EngineContext } from '../engine/decide.ts';
import { offerMetrics } from '../engine/metrics.ts';
import { variantLabel } from '../engine/offer.ts';
import { incrStats, runRespond } from '../engine/redis-ops.ts';
import type { ExpiryJob } from './queues.ts';

/**
 * Expires one offer: out of the pending inbox, `expired` in its ledger record — never before
 * `expiresAt`. A job that runs early (clock skew, a promoted job) is put back to wait until
 * then. An offer the player already reported is left as it is ("moot").
 */
export async function runExpiry(engine: EngineContext, job: Job<ExpiryJob>, token: string | undefined): Promise<string> {
  const { playerId, offerId, expiresAt } = job.data;
  const now = Date.now();
  if (now < expiresAt) return delay(job, expiresAt, token);
  const r = await runRespond(engine.redis, engine.keyPrefix, playerId, offerId, 'expired', now, null, engine.retentionMs());
  if (r.status === 'early') return delay(job, r.expiresAt, token);
  if (r.status === 'ok') await incrStats(engine.redis, engine.keyPrefix, r.ruleId, variantLabel(r.variant), { expired: 1 });
  offerMetrics.responses.inc({ kind: 'expired', result: r.status });
  return r.status;
}

async function delay(job: Job<ExpiryJob>, until: number, token: string | undefined): Promise<never> {
  await job.moveToDelayed(until, token);
  throw new DelayedError();
}
