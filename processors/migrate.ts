import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from '../lib/redis.ts';

/**
 * One pass over every player key under `prefix` that the layout before the stream markers
 * left behind (docs/operations.md, "Retention"): the keys it no longer uses
 * (`decided`, `attributed`, `ledgerIdx`) are unlinked, and every other player key without
 * an expiry gets `retentionMs` from now (server clock). Idempotent: a second pass finds
 * nothing to do. SCAN on every master of a cluster, in pages, so it can run beside live
 * traffic. Old `win` and `ledger` hashes and `decisions` lists are left to the scripts,
 * which read and replace them on the player's next write.
 */
export const RETIRED_KINDS = ['decided', 'attributed', 'ledgerIdx'] as const;

export interface MigrationReport {
  readonly scanned: number;
  readonly unlinked: number;
  readonly expiryGiven: number;
}

export async function migratePlayerKeys(redis: RedisClient, prefix: string, retentionMs: number): Promise<MigrationReport> {
  const nodes: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis as Redis];
  const pattern = `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}:{p:*}:*`;
  const retired = new Set<string>(RETIRED_KINDS);
  let scanned = 0;
  let unlinked = 0;
  let expiryGiven = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      scanned += keys.length;
      const pipe = node.pipeline();
      const expiring: boolean[] = [];
      for (const key of keys) {
        const retire = retired.has(key.slice(key.lastIndexOf(':') + 1));
        if (retire) pipe.unlink(key);
        // NX: only a key without an expiry gets one (Redis 7).
        else pipe.pexpire(key, retentionMs, 'NX');
        expiring.push(!retire);
      }
      const res = (await pipe.exec()) ?? [];
      res.forEach(([err, v], i) => {
        if (err) throw err;
        if (!expiring[i]) unlinked += Number(v);
        else expiryGiven += Number(v);
      });
    } while (cursor !== '0');
  }
  return { scanned, unlinked, expiryGiven };
}
