import { fileURLToPath } from 'node:url';
import { withScriptsOf } from '../../lib/lua.ts';
import type { RedisClient } from '../../lib/redis.ts';

const LUA_DIR = fileURLToPath(new URL('./lua/', import.meta.url));

type Arg = string | Buffer | number;

/** The engine's Lua commands (offers/engine/lua/), as defined on a client by `withEngineScripts`. */
export interface EngineCommands {
  /** decidePlayers-n.lua: the number of keys first, then the keys and the values. */
  decidePlayers(numberOfKeys: number, ...args: Arg[]): Promise<unknown[]>;
  /** readPlayers-n.lua: the number of keys first, then the keys and the values. */
  readPlayers(numberOfKeys: number, ...args: Arg[]): Promise<unknown[]>;
  respond(...args: Arg[]): Promise<string[]>;
  reserveBudget(key: string, count: number, keepUntil: number, keepForMs: number, ...offerIds: string[]): Promise<number[]>;
  spend(attribution: string, marker: string, now: number, offset: string | number, currency: string, amount: number): Promise<string[]>;
}

/** Defines the engine scripts on `redis` once; they are called by SHA from then on. */
export function withEngineScripts(redis: RedisClient): RedisClient & EngineCommands {
  return withScriptsOf<EngineCommands>(redis, LUA_DIR);
}
