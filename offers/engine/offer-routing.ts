import { publishOffer } from '../../protocol/offer-channel.ts';
import type { RedisClient } from '../../lib/redis.ts';
import type { Offer } from '../../protocol/offer.ts';

/** Routes an offer (already in the inbox) to the edge instances holding the player's sockets; resolves to how many. */
export function routeOffer(redis: RedisClient, keyPrefix: string, playerId: string, offer: Offer): Promise<number> {
  return publishOffer(redis, keyPrefix, playerId, offer);
}
