import calculateSlot from 'cluster-key-slot';
import { Redis, Cluster, type ChainableCommander, type ClusterOptions, type RedisOptions } from 'ioredis';
import { PlayPulseError, errorMessage } from './errors.ts';

/** A single Redis or a Redis Cluster; every key of one player shares a hash tag, so both work. */
export type RedisClient = Redis | Cluster;

/**
 * The one Redis client factory. `redis://host:port[/db]` gives a single node;
 * `redis+cluster://host:port,host:port` a cluster client seeded with those nodes.
 * `purpose` names the connection in CLIENT LIST. `clusterOptions` apply to a cluster client
 * only (e.g. `shardedSubscribers: true` for a client that SSUBSCRIBEs).
 */
export function createRedis(
  url: string,
  purpose: string,
  options: Partial<RedisOptions> = {},
  clusterOptions: Partial<ClusterOptions> = {},
): RedisClient {
  const base: RedisOptions = {
    connectionName: `playpulse:${purpose}`,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    ...options,
  };
  if (url.startsWith('redis+cluster://')) {
    const nodes = url
      .slice('redis+cluster://'.length)
      .split(',')
      .map((hp) => {
        const [host, port] = hp.split(':');
        return { host: host ?? '127.0.0.1', port: Number(port ?? 6379) };
      });
    return new Cluster(nodes, {
      redisOptions: base,
      enableReadyCheck: true,
      scaleReads: 'master',
      enableAutoPipelining: base.enableAutoPipelining ?? false,
      ...clusterOptions,
    });
  }
  return new Redis(url, base);
}

/**
 * `items` cut into groups of at most `max` whose keys one script call may take together: on
 * a Redis Cluster, items whose `keyOf` falls in the same hash slot (a script's keys must
 * share a slot); on a single Redis, any. Order is kept within a group.
 */
export function slotGroups<T>(redis: RedisClient, items: readonly T[], keyOf: (item: T) => string, max: number): T[][] {
  const groups: T[][] = [];
  if (!(redis instanceof Cluster)) {
    for (let i = 0; i < items.length; i += max) groups.push(items.slice(i, i + max));
    return groups;
  }
  const open = new Map<number, T[]>();
  for (const item of items) {
    const slot = calculateSlot(keyOf(item));
    let group = open.get(slot);
    if (!group || group.length >= max) {
      groups.push((group = []));
      open.set(slot, group);
    }
    group.push(item);
  }
  return groups;
}

/**
 * Small write groups (a rule's counters, a segment's day) sent as one MULTI per Redis Cluster
 * slot: on a single Redis, one MULTI whatever the number of groups. A MULTI is not
 * auto-pipelined: one per group cost a socket write of its own each, per chunk. `keyOf`
 * names a key of the item's slot
 * (every key `add` writes must share it). Resolves when every transaction ran; a command's
 * own error is in its EXEC reply, as with one MULTI per group.
 */
export async function multiPerSlot<T>(redis: RedisClient, items: readonly T[], keyOf: (item: T) => string, add: (tx: ChainableCommander, item: T) => void): Promise<void> {
  if (items.length === 0) return;
  await Promise.all(
    slotGroups(redis, items, keyOf, Number.POSITIVE_INFINITY).map((group) => {
      const tx = redis.multi();
      for (const item of group) add(tx, item);
      return tx.exec();
    }),
  );
}

/** Fails with STACK_UNAVAILABLE naming the address when Redis does not answer PING in time. */
export async function assertRedisReachable(url: string, timeoutMs: number): Promise<void> {
  const client = createRedis(
    url,
    'probe',
    { lazyConnect: true, retryStrategy: () => null, connectTimeout: timeoutMs },
    { lazyConnect: true, clusterRetryStrategy: () => null },
  );
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new PlayPulseError('STACK_UNAVAILABLE', `Redis is unreachable at ${url} (${errorMessage(err)})`);
  } finally {
    client.disconnect();
  }
}

/** True when the client is connected and usable right now (for /readyz). */
export function isRedisReady(client: RedisClient): boolean {
  return client.status === 'ready';
}

/**
 * Deletes every key under `prefix:` (SCAN + UNLINK on every master of a cluster; glob
 * characters in the prefix are matched literally). Returns how many keys it removed.
 */
export async function deleteKeysUnder(redis: RedisClient, prefix: string): Promise<number> {
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
