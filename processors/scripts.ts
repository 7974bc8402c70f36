import { fileURLToPath } from 'node:url';
import { withScriptsOf } from '../lib/lua.ts';
import { createRedis, type RedisClient } from '../lib/redis.ts';

const LUA_DIR = fileURLToPath(new URL('./lua/', import.meta.url));

/** A Redis client with the processors' scripts defined on it. */
export interface ProcessorCommands {
  /** lua/applyEvents-4.lua: keys state, watermark, seen, windows; then ARGV as in its header. Replies a MessagePack Buffer. */
  applyEventsBuffer(k1: string, k2: string, k3: string, k4: string, properties: Buffer, events: Buffer): Promise<Buffer>;
}

export type ScriptClient = RedisClient & ProcessorCommands;

/** Defines the scripts on `client` (idempotent per client). */
export function withScripts(client: RedisClient): ScriptClient {
  return withScriptsOf<ProcessorCommands>(client, LUA_DIR);
}

/**
 * The connection the apply path uses: auto-pipelined (every script call issued in one tick
 * goes out as one pipeline per node, so a batch is one round trip per Redis node), and
 * failing commands after a couple of reconnect attempts instead of queueing them for ever,
 * so the batch loop can back off, heartbeat and report not-ready.
 */
export function createApplyClient(url: string, purpose: string): ScriptClient {
  return withScripts(
    createRedis(url, purpose, {
      enableAutoPipelining: true,
      maxRetriesPerRequest: 2,
      commandTimeout: 30_000,
    }),
  );
}
