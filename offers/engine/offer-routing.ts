import { SpanStatusCode, type Context } from '@opentelemetry/api';
import { publishOffer } from '../../protocol/offer-channel.ts';
import type { RedisClient } from '../../lib/redis.ts';
import type { Offer } from '../../protocol/offer.ts';
import type { EngineContext } from './context.ts';

/** Routes an offer (already in the inbox) to the edge instances holding the player's sockets; resolves to how many. */
export function routeOffer(redis: RedisClient, keyPrefix: string, playerId: string, offer: Offer, traceparent?: string, presence?: readonly string[]): Promise<number> {
  return publishOffer(redis, keyPrefix, playerId, offer, traceparent, presence);
}

/**
 * `ctx.publish`, as an `offers.route` span when the triggering event is traced (`trace`, its
 * decide span): the span's traceparent travels with the offer, so the edge's push continues
 * the trace (lib/tracing.ts). Untraced: the plain call.
 */
export async function publishTraced(ctx: EngineContext, playerId: string, offer: Offer, trace: Context | undefined, presence?: readonly string[]): Promise<number> {
  const tracing = ctx.tracing;
  if (!tracing || !trace) return ctx.publish(playerId, offer, undefined, presence);
  const span = tracing.start('offers.route', trace, { 'playpulse.player': playerId, 'playpulse.offer': offer.id, 'playpulse.rule': offer.ruleId });
  try {
    const edges = await ctx.publish(playerId, offer, tracing.traceparent(span), presence);
    span.setAttribute('playpulse.edges', edges);
    return edges;
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    span.end();
  }
}
