/** The edge's Redis scripts (edge/lua), loaded once per client and called by SHA. */
import { fileURLToPath } from 'node:url';
import { withScriptsOf } from '../lib/lua.ts';
import type { RedisClient } from '../lib/redis.ts';

const LUA_DIR = fileURLToPath(new URL('./lua', import.meta.url));

export interface EdgeScripts {
  presenceTouch(key: string, instanceId: string, now: number, expiresAt: number): Promise<number>;
  presenceLeave(key: string, instanceId: string, now: number): Promise<number>;
  inboxPending(inboxKey: string, offersKey: string, now: number, limit: number): Promise<string[]>;
}

export function loadEdgeScripts(redis: RedisClient): EdgeScripts {
  return withScriptsOf<EdgeScripts>(redis, LUA_DIR);
}
