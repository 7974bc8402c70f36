import { readdirSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { Cluster } from 'ioredis';
import type { RedisClient } from './redis.ts';

/** Script folders already defined per client: defining them again is a no-op. */
const loaded = new WeakMap<object, Set<string>>();

/**
 * Loads every `<name>-<numberOfKeys>.lua` file of `dir` as a custom command `<name>` on
 * `client` (ioredis defineCommand: EVALSHA, falling back to EVAL once when the script
 * cache is cold). `<name>-n.lua` takes a varying number of keys: the caller passes the
 * number first, as EVALSHA does. Each file opens with a header listing KEYS, ARGV and what
 * it returns.
 * Returns the names loaded (none when the folder was loaded on this client before).
 */
export function loadScripts(client: RedisClient, dir: string): string[] {
  const done = loaded.get(client);
  if (done?.has(dir)) return [];
  const names: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.lua')).sort()) {
    const m = /^([A-Za-z][A-Za-z0-9]*)-(\d+|n)\.lua$/.exec(basename(file));
    // programmer error: script files ship in the repository named <name>-<numberOfKeys>.lua or <name>-n.lua
    if (!m) throw new Error(`Lua script ${file} is not named <name>-<numberOfKeys>.lua or <name>-n.lua`);
    const [, name, keys] = m as unknown as [string, string, string];
    const lua = readFileSync(join(dir, file), 'utf8');
    client.defineCommand(name, keys === 'n' ? { lua } : { numberOfKeys: Number(keys), lua });
    // An auto-pipelined Cluster client routes a command by the slot of its first argument,
    // which for a `-n` script is the number of keys: such calls go on their own, routed by
    // their keys (a call's keys share one slot, lib/redis.ts slotGroups).
    if (keys === 'n' && client instanceof Cluster) {
      client.options.autoPipeliningIgnoredCommands = [...(client.options.autoPipeliningIgnoredCommands ?? []), name];
    }
    names.push(name);
  }
  const dirs = done ?? new Set<string>();
  dirs.add(dir);
  loaded.set(client, dirs);
  return names;
}

/**
 * The one way to give a client a folder's scripts: defines them once per client (see
 * loadScripts) and returns the client typed with `Commands`, the interface that names each
 * script's keys, arguments and reply as its file's header describes them.
 */
export function withScriptsOf<Commands>(client: RedisClient, dir: string): RedisClient & Commands {
  loadScripts(client, dir);
  return client as RedisClient & Commands;
}
