import { readdirSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import type { RedisClient } from './redis.ts';

/**
 * Loads every `<name>-<numberOfKeys>.lua` file of `dir` as a custom command `<name>` on
 * `client` (ioredis defineCommand: EVALSHA, falling back to EVAL once when the script
 * cache is cold). Each file opens with a header listing KEYS, ARGV and what it returns.
 * Returns the names loaded.
 */
export function loadScripts(client: RedisClient, dir: string): string[] {
  const names: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.lua')).sort()) {
    const m = /^([A-Za-z][A-Za-z0-9]*)-(\d+)\.lua$/.exec(basename(file));
    // programmer error: script files ship in the repository named <name>-<numberOfKeys>.lua
    if (!m) throw new Error(`Lua script ${file} is not named <name>-<numberOfKeys>.lua`);
    const [, name, keys] = m as unknown as [string, string, string];
    client.defineCommand(name, { numberOfKeys: Number(keys), lua: readFileSync(join(dir, file), 'utf8') });
    names.push(name);
  }
  return names;
}
