import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from '../../lib/redis.ts';

/**
 * The scratch namespace of one backtest: `<keyPrefix>:bt:<jobId>`, with one sub-namespace
 * per bundle compared (`…:draft`, `…:published`). Every key a backtest writes — player
 * state, decisions, limits, budgets, stats — lives under it; it is deleted when the job
 * ends, whether it succeeded or failed.
 */
export function scratchPrefix(keyPrefix: string, jobId: string): string {
  return `${keyPrefix}:bt:${jobId}`;
}

/** Deletes every key under `prefix:` (SCAN + UNLINK; every master of a cluster). Returns how many. */
export async function deleteNamespace(redis: RedisClient, prefix: string): Promise<number> {
  const nodes: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis];
  let removed = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${escapeGlob(prefix)}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) {
        const pipe = node.pipeline();
        for (const key of keys) pipe.unlink(key);
        await pipe.exec();
        removed += keys.length;
      }
    } while (cursor !== '0');
  }
  return removed;
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
