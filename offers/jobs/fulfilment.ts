import { UnrecoverableError, type Job } from 'bullmq';
import type { EngineContext } from '../engine/decide.ts';
import { offerMetrics } from '../engine/metrics.ts';
import { variantLabel } from '../engine/offer.ts';
import { incrStats, readLedger, runRespond } from '../engine/redis-ops.ts';
import type { FulfilmentJob } from './queues.ts';
import { PlayPulseError, errorMessage } from '../../lib/errors.ts';

/** The JSON body POSTed to PLAYPULSE_FULFILMENT_URL; header `Idempotency-Key: <offerId>`. */
export interface FulfilmentRequest {
  readonly offerId: string;
  readonly playerId: string;
  readonly ruleId: string;
  readonly variant: string | null;
  readonly sku: string;
  readonly amount: number;
  readonly currency: string;
  readonly purchasedAt: number;
}

const WEBHOOK_TIMEOUT_MS = 10_000;

/** Statuses worth retrying: server errors, timeouts, throttling. Any other non-2xx fails the job for good. */
const retriable = (status: number) => status >= 500 || status === 408 || status === 425 || status === 429;

/**
 * Fulfils one purchase. With a URL, POSTs the purchase with the offer id as idempotency key
 * (the receiver must grant once per key); a failure throws, and BullMQ retries with
 * exponential backoff. Then (or at once, without a URL) records `granted` in the ledger —
 * once, however often the job runs.
 */
export async function runFulfilment(engine: EngineContext, url: string | null, job: Job<FulfilmentJob>): Promise<string> {
  const { playerId, offerId, purchasedAt } = job.data;
  const rec = await readLedger(engine.redis, engine.keyPrefix, playerId, offerId);
  if (!rec) return 'unknown_offer';
  if (rec.responses.granted !== undefined) return 'already_granted';
  if (url) {
    const body: FulfilmentRequest = {
      offerId,
      playerId,
      ruleId: rec.ruleId,
      variant: rec.variant,
      sku: rec.sku,
      amount: rec.revenue ?? rec.price.amount,
      currency: rec.price.currency,
      purchasedAt,
    };
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': offerId },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      throw new PlayPulseError('FULFILMENT_FAILED', `fulfilment webhook unreachable: ${errorMessage(err)}`);
    }
    if (!res.ok) {
      const message = `fulfilment webhook answered HTTP ${res.status}`;
      if (!retriable(res.status)) throw new UnrecoverableError(message);
      throw new PlayPulseError('FULFILMENT_FAILED', message);
    }
  }
  const r = await runRespond(engine.redis, engine.keyPrefix, playerId, offerId, 'granted', Date.now(), null, engine.retentionMs());
  if (r.status === 'ok') await incrStats(engine.redis, engine.keyPrefix, r.ruleId, variantLabel(r.variant), { granted: 1 });
  offerMetrics.responses.inc({ kind: 'granted', result: r.status });
  return r.status === 'ok' ? 'granted' : 'already_granted';
}
