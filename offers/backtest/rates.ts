import { offerKeys } from '../../lib/keys.ts';
import type { RedisClient } from '../../lib/redis.ts';
import { rowKey, type LiveRate } from './report.ts';

/**
 * Observed live purchase history per rule × variant, read (only read) from the live stats
 * hashes (`<variant>|offered`, `<variant>|purchased`; lib/keys.ts offerKeys.stats).
 */
export async function readLiveRates(redis: RedisClient, keyPrefix: string, ruleIds: readonly string[]): Promise<Map<string, LiveRate>> {
  const keys = offerKeys(keyPrefix);
  const hashes = await Promise.all(ruleIds.map((id) => redis.hgetall(keys.stats(id))));
  const out = new Map<string, LiveRate>();
  ruleIds.forEach((ruleId, i) => {
    const h = hashes[i] ?? {};
    const variants = new Set(Object.keys(h).map((f) => f.split('|')[0] ?? ''));
    for (const v of variants) {
      out.set(rowKey(ruleId, v), { offered: Number(h[`${v}|offered`] ?? 0) || 0, purchased: Number(h[`${v}|purchased`] ?? 0) || 0 });
    }
  });
  return out;
}
