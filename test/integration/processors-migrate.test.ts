/**
 * The one-off pass over keys an older layout left (processors/migrate.ts), against real Redis
 * (or the 3-node cluster with PLAYPULSE_TEST_REDIS=cluster): retired kinds unlinked, every
 * other player key without an expiry given the retention, keys with an expiry and keys
 * outside the prefix left alone, and a second pass with nothing to do.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { playerKeys } from '../../lib/keys.ts';
import { createRedis } from '../../lib/redis.ts';
import { migratePlayerKeys } from '../../processors/migrate.ts';
import { cleanupRedisPrefix, testServices, uniqueName } from '../helpers/stack.ts';

const redis = createRedis(testServices().redisUrl, 'test-migrate');
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await cleanupRedisPrefix(redis, p);
  redis.disconnect();
});

describe('migrating player keys of the previous layout', () => {
  it('unlinks the retired keys and gives every other player key an expiry, once', async () => {
    const prefix = uniqueName('mig');
    const other = uniqueName('mig-other');
    prefixes.push(prefix, other);
    const retention = 30 * 86_400_000;
    const players = ['a', 'b', 'c'];
    for (const p of players) {
      const k = playerKeys(prefix, p);
      await redis.hset(k.state, 'events_total', '3');
      await redis.zadd(`${k.state.slice(0, -':state'.length)}:decided`, 1, 'e1');
      await redis.zadd(`${k.state.slice(0, -':state'.length)}:attributed`, 1, 'e2');
      await redis.zadd(`${k.state.slice(0, -':state'.length)}:ledgerIdx`, 1, 'o1');
      await redis.rpush(k.decisions, '{}');
    }
    const withTtl = playerKeys(prefix, 'a').watermark;
    await redis.hset(withTtl, '0', '5');
    await redis.pexpire(withTtl, 60_000);
    const outside = playerKeys(other, 'z').state;
    await redis.hset(outside, 'events_total', '1');

    const first = await migratePlayerKeys(redis, prefix, retention);
    expect(first).toEqual({ scanned: 3 * 5 + 1, unlinked: 9, expiryGiven: 6 });
    for (const p of players) {
      const k = playerKeys(prefix, p);
      for (const key of [k.state, k.decisions]) {
        const ttl = await redis.pttl(key);
        expect(ttl, key).toBeGreaterThan(retention - 60_000);
        expect(ttl, key).toBeLessThanOrEqual(retention);
      }
      expect(await redis.exists(`${k.state.slice(0, -':state'.length)}:decided`)).toBe(0);
    }
    const kept = await redis.pttl(withTtl);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(60_000);
    expect(await redis.pttl(outside)).toBe(-1);

    expect(await migratePlayerKeys(redis, prefix, retention)).toEqual({ scanned: 3 * 2 + 1, unlinked: 0, expiryGiven: 0 });
  });
});
