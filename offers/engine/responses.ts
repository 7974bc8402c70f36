import type { EventRecord } from '../../protocol/record.ts';
import type { Policy } from '../../designer/types.ts';
import { attributeSpend } from './attribution.ts';
import type { EngineContext } from './decide.ts';
import { offerMetrics } from './metrics.ts';
import { variantLabel } from './offer.ts';
import { incrStats, runRespond, type ResponseKind } from './redis-ops.ts';

/** The built-in response events (docs/contract.md §3) and the ledger kind each records. */
export const RESPONSE_EVENTS: ReadonlyMap<string, ResponseKind> = new Map([
  ['offer.shown', 'shown'],
  ['offer.accepted', 'accepted'],
  ['offer.declined', 'declined'],
  ['offer.purchased', 'purchased'],
]);

/** `data.amount` when it is a non-negative integer (minor units), else null: the offer price counts. */
function purchaseAmount(data: Record<string, unknown> | undefined): number | null {
  const a = data?.amount;
  return typeof a === 'number' && Number.isSafeInteger(a) && a >= 0 ? a : null;
}

/**
 * Records a player's response to one of their offers, once per (offer id, kind): ledger,
 * inbox removal, purchase/decline time in the state hash (respond-4.lua), then the rule's
 * counters, and a purchase's price as spend when the policy declares revenue (lift). A
 * purchase queues fulfilment (idempotent by job id, so also on redelivery). An unknown offer
 * id — another player's, a made-up one — changes nothing.
 */
export async function handleResponse(ctx: EngineContext, record: EventRecord, policy: Policy): Promise<void> {
  const kind = RESPONSE_EVENTS.get(record.type);
  if (!kind) return;
  const offerId = record.data?.offerId;
  if (typeof offerId !== 'string' || offerId.length === 0 || offerId.length > 64) {
    offerMetrics.responses.inc({ kind, result: 'invalid' });
    ctx.log.debug({ player: record.player, event: record.id, type: record.type }, 'offer response without a usable data.offerId; ignored');
    return;
  }
  const r = await runRespond(ctx.redis, ctx.keyPrefix, record.player, offerId, kind, record.recvAt, purchaseAmount(record.data), policy.retentionMs);
  offerMetrics.responses.inc({ kind, result: r.status });
  if (r.status === 'unknown' || r.status === 'early') return;
  if (r.status === 'ok') {
    const revenue = kind === 'purchased' && r.revenue !== null ? { amount: r.revenue, currency: r.currency } : undefined;
    await incrStats(ctx.redis, ctx.keyPrefix, r.ruleId, variantLabel(r.variant), { [kind]: 1 }, revenue);
    // An offer purchase is spend too: it counts towards every rule window open now, as the
    // revenue event does, so a rule's group and the holdout are measured alike.
    if (revenue && policy.revenue) await attributeSpend(ctx, record.player, null, record.recvAt, revenue);
  }
  if (kind === 'purchased' && ctx.queues && (r.status === 'ok' || r.status === 'dup')) {
    await ctx.queues.scheduleFulfilment({ playerId: record.player, offerId, purchasedAt: record.recvAt });
  }
}
