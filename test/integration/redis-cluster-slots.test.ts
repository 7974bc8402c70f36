/**
 * Every Lua script keeps all its keys in one Redis Cluster slot, checked on a real 3-master
 * cluster (the run's, with PLAYPULSE_TEST_REDIS=cluster; otherwise one started here).
 *
 * Each `*.lua` file of the repository needs a case below that builds its KEYS the way its
 * call site does, from the key builders of lib/keys.ts; a script without one fails
 * ("script X has no key-slot case"). For several key prefixes and player ids whose hash
 * tags land on every master, the server's CLUSTER KEYSLOT must give one slot per call,
 * including the keys a script derives from its ARGV (bundle version hashes).
 *
 * The negative: each multi-key script, called as the production code defines it, with one
 * key moved to another slot is refused with CROSSSLOT before it runs (it writes nothing),
 * while the same call with the right keys goes through. So the cluster would catch a script
 * that spread its keys, and the positive check above is what keeps ours from doing so.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from 'ioredis';
import { startRedisCluster, type LocalRedisCluster } from '../../infra/redis-cluster.ts';
import { bundleKeys, offerKeys, playerKeys, scratchPrefix } from '../../lib/keys.ts';
import { loadScripts } from '../../lib/lua.ts';
import calculateSlot from 'cluster-key-slot';
import { createRedis, deleteKeysUnder, slotGroups } from '../../lib/redis.ts';
import { readPlayersCounters, runDecidePlayers, type PlayerDecisions } from '../../offers/engine/redis-ops.ts';
import { withEngineScripts } from '../../offers/engine/scripts.ts';
import { testServices, uniqueName } from '../helpers/stack.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DAY_MS = 86_400_000;

/** What a call site has at hand when it builds a script's keys. */
interface KeyContext {
  readonly prefix: string;
  readonly player: string;
  readonly ruleId: string;
  readonly windowStart: number;
}

interface SlotCase {
  /** The module that calls the script; it must call the command this file defines. */
  readonly site: string;
  /** KEYS, in order, as the call site builds them. */
  readonly keys: (c: KeyContext) => string[];
  /** Keys the script touches that it builds from ARGV (they must share the slot too). */
  readonly derived?: (c: KeyContext) => string[];
}

/** One entry per Lua script, by path from the repository root. */
const CASES: Readonly<Record<string, SlotCase>> = {
  'processors/lua/applyEvents-4.lua': {
    site: 'processors/apply.ts',
    keys: ({ prefix, player }) => {
      const k = playerKeys(prefix, player);
      return [k.state, k.watermark, k.seen, k.windows];
    },
  },
  // A varying number of keys (`-n`): the case gives one player's; a call's players share a slot (lib/redis.ts slotGroups).
  'offers/engine/lua/decidePlayers-n.lua': {
    site: 'offers/engine/redis-ops.ts',
    keys: ({ prefix, player }) => {
      const k = playerKeys(prefix, player);
      return [k.limits, k.state, k.inbox, k.offers, k.ledger, k.decisions, k.attribution, k.presence];
    },
  },
  'offers/engine/lua/readPlayers-n.lua': {
    site: 'offers/engine/redis-ops.ts',
    keys: ({ prefix, player }) => {
      const k = playerKeys(prefix, player);
      return [k.state, k.limits];
    },
  },
  'offers/engine/lua/respond-4.lua': {
    site: 'offers/engine/redis-ops.ts',
    keys: ({ prefix, player }) => {
      const k = playerKeys(prefix, player);
      return [k.ledger, k.inbox, k.offers, k.state];
    },
  },
  'offers/engine/lua/reserveBudget-1.lua': {
    site: 'offers/engine/redis-ops.ts',
    keys: ({ prefix, ruleId, windowStart }) => [offerKeys(prefix).budget(ruleId, windowStart)],
  },
  'offers/engine/lua/spend-1.lua': { site: 'offers/engine/redis-ops.ts', keys: ({ prefix, player }) => [playerKeys(prefix, player).attribution] },
  'edge/lua/inboxPending-2.lua': {
    site: 'edge/delivery.ts',
    keys: ({ prefix, player }) => {
      const k = playerKeys(prefix, player);
      return [k.inbox, k.offers];
    },
  },
  'edge/lua/presenceTouch-1.lua': { site: 'edge/delivery.ts', keys: ({ prefix, player }) => [playerKeys(prefix, player).presence] },
  'edge/lua/presenceLeave-1.lua': { site: 'edge/delivery.ts', keys: ({ prefix, player }) => [playerKeys(prefix, player).presence] },
  'designer/lua/bundlePublish-3.lua': {
    site: 'designer/versions.ts',
    keys: ({ prefix }) => {
      const k = bundleKeys(prefix);
      return [k.seq, k.current, k.history];
    },
    // ARGV[1] is the version key prefix: the script writes `<it><version>` and deletes old ones.
    derived: ({ prefix }) => [bundleKeys(prefix).version(1), bundleKeys(prefix).version(123_456)],
  },
  'designer/lua/bundleRollback-3.lua': {
    site: 'designer/versions.ts',
    keys: ({ prefix }) => {
      const k = bundleKeys(prefix);
      return [k.seq, k.current, k.history];
    },
    derived: ({ prefix }) => [bundleKeys(prefix).version(1), bundleKeys(prefix).version(123_456)],
  },
};

/** Player ids (valid as protocol/limits.ts PLAYER_ID_PATTERN) whose tags the test checks land on every master. */
const PLAYERS = ['frank', 'erin', 'bob', 'p:1', 'player.with-dots_and:colons', 'x', 'z'.repeat(64)];
const PREFIXES = ['pp', 'studio-live.eu', scratchPrefix('pp', 'job-1'), `${scratchPrefix('pp', 'job-1')}:draft`];

/** Every `*.lua` file under the repository, outside node_modules and dot folders, by path from the root. */
function luaScripts(dir = ROOT): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...luaScripts(path));
    else if (entry.name.endsWith('.lua')) out.push(relative(ROOT, path).split('\\').join('/'));
  }
  return out.sort();
}

/**
 * `<name>-<numberOfKeys>.lua` or `<name>-n.lua`, as lib/lua.ts defines it. For `-n` the
 * number of keys is passed first; `numberOfKeys` is then that of one player's keys (its case),
 * and `varying` is true.
 */
function scriptName(path: string): { name: string; numberOfKeys: number; varying: boolean } {
  const m = /^([A-Za-z][A-Za-z0-9]*)-(\d+|n)\.lua$/.exec(basename(path));
  if (!m?.[1] || !m[2]) throw new Error(`Lua script ${path} is not named <name>-<numberOfKeys>.lua or <name>-n.lua`);
  if (m[2] !== 'n') return { name: m[1], numberOfKeys: Number(m[2]), varying: false };
  const c = CASES[path];
  if (!c) throw new Error(`script ${path} has no key-slot case`);
  return { name: m[1], numberOfKeys: c.keys({ prefix: 'pp', player: 'frank', ruleId: 'r', windowStart: 0 }).length, varying: true };
}

type ScriptCommand = (...args: (string | number)[]) => Promise<unknown>;

describe('Lua scripts on a Redis Cluster', () => {
  const scripts = luaScripts();
  let cluster: LocalRedisCluster | undefined;
  let redis: Cluster;
  const prefix = uniqueName('slots');
  const ctx = (player: string): KeyContext => ({ prefix, player, ruleId: 'level-budget', windowStart: Math.floor(Date.now() / DAY_MS) * DAY_MS });

  beforeAll(async () => {
    let url = testServices().redisUrl;
    if (!url.startsWith('redis+cluster://')) {
      cluster = await startRedisCluster(3);
      url = cluster.url;
    }
    redis = createRedis(url, 'cluster-slots-test') as Cluster;
    for (const dir of new Set(scripts.map((s) => join(ROOT, dirname(s))))) loadScripts(redis, dir);
  }, 120_000);

  afterAll(async () => {
    if (redis) {
      await deleteKeysUnder(redis, prefix);
      redis.disconnect();
    }
    await cluster?.stop();
  });

  const slotOf = async (key: string): Promise<number> => Number(await redis.cluster('KEYSLOT', key));
  /** The master (host:port) serving each slot, from CLUSTER SLOTS. */
  const masterOf = async (): Promise<(slot: number) => string> => {
    const ranges = (await redis.cluster('SLOTS')) as unknown as [number, number, [string, number, ...unknown[]], ...unknown[]][];
    return (slot) => {
      const r = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (!r) throw new Error(`slot ${slot} is not served`);
      return `${r[2][0]}:${r[2][1]}`;
    };
  };

  it('finds the scripts, and has a key-slot case for each of them and for nothing else', () => {
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) expect(CASES[s], `script ${s} has no key-slot case`).toBeDefined();
    for (const s of Object.keys(CASES)) expect(existsSync(join(ROOT, s)), `key-slot case ${s} names no script`).toBe(true);
    for (const s of scripts) {
      const c = CASES[s] as SlotCase;
      const { name, numberOfKeys } = scriptName(s);
      expect(c.keys(ctx('frank')), `${s}: keys of its case`).toHaveLength(numberOfKeys);
      const site = readFileSync(join(ROOT, c.site), 'utf8');
      expect(new RegExp(`\\.${name}(Buffer)?\\(`).test(site), `${c.site} calls ${name}`).toBe(true);
    }
  });

  it('the chosen player ids hash far apart: their tags land on every master', async () => {
    const master = await masterOf();
    const slots = await Promise.all(PLAYERS.map((p) => slotOf(playerKeys('pp', p).state)));
    expect(new Set(slots.map(master)).size).toBe(3);
    expect(Math.max(...slots) - Math.min(...slots)).toBeGreaterThan(8_192);
  });

  it('puts every key of one call of every script in one slot', async () => {
    let calls = 0;
    let keysChecked = 0;
    for (const s of scripts) {
      const c = CASES[s] as SlotCase;
      for (const p of PREFIXES) {
        for (const player of PLAYERS) {
          const at = { ...ctx(player), prefix: p };
          const keys = [...c.keys(at), ...(c.derived?.(at) ?? [])];
          const slots = await Promise.all(keys.map(slotOf));
          expect(new Set(slots).size, `${s} for player ${player} under ${p}: ${keys.map((k, i) => `${k} → ${slots[i]}`).join(', ')}`).toBe(1);
          calls += 1;
          keysChecked += keys.length;
        }
      }
    }
    console.log(`cluster slots: ${scripts.length} scripts × ${PREFIXES.length} prefixes × ${PLAYERS.length} players = ${calls} calls, ${keysChecked} keys, one slot each`);
  });

  it('refuses a real script whose keys span two slots with CROSSSLOT, and runs it when they do not', async () => {
    const command = (name: string): ScriptCommand => {
      const fn = (redis as unknown as Record<string, ScriptCommand | undefined>)[name];
      if (typeof fn !== 'function') throw new Error(`script ${name} is not defined on the client`);
      return fn.bind(redis);
    };
    const player = 'frank';
    let refused = 0;
    for (const s of scripts) {
      const { name, numberOfKeys, varying } = scriptName(s);
      if (numberOfKeys < 2) continue;
      const keys = (CASES[s] as SlotCase).keys(ctx(player));
      const home = await slotOf(keys[0] as string);
      // The last key moved to another slot: the same key of a player elsewhere, or a player key.
      let stray: string | undefined;
      for (const other of PLAYERS) {
        const candidates = [(CASES[s] as SlotCase).keys(ctx(other))[numberOfKeys - 1] as string, playerKeys(prefix, other).state];
        for (const k of candidates) if (stray === undefined && (await slotOf(k)) !== home) stray = k;
      }
      expect(stray, `${s}: a key in another slot`).toBeDefined();
      const spread = [...keys.slice(0, -1), stray as string];
      const argv = Array.from({ length: 12 }, () => '0');
      await expect(command(name)(...(varying ? [spread.length] : []), ...spread, ...argv), `${s} with ${spread.join(', ')}`).rejects.toThrow(/CROSSSLOT/);
      for (const k of spread) expect(await redis.exists(k), `${s} wrote ${k} although refused`).toBe(0);
      refused += 1;
    }
    expect(refused).toBe(scripts.filter((s) => scriptName(s).numberOfKeys > 1).length);

    // The same scripts with the keys of their cases run (nothing stored for this player yet).
    const keysOf = (script: string) => (CASES[script] as SlotCase).keys(ctx(player));
    expect(await command('inboxPending')(...keysOf('edge/lua/inboxPending-2.lua'), Date.now(), 10)).toEqual([]);
    const answer = (await command('respond')(...keysOf('offers/engine/lua/respond-4.lua'), 'no-such-offer', 'shown', Date.now(), '', DAY_MS)) as unknown[];
    expect(answer.map(String)).toEqual(['unknown']);
    console.log(`cluster slots: ${refused} multi-key scripts refused with CROSSSLOT when one key was moved to another slot`);
  });

  it('reads and records many players per call: the calls group them by slot, and each player gets their own answer', async () => {
    const engine = withEngineScripts(redis);
    const slotOfPlayer = (id: string) => calculateSlot(playerKeys(prefix, id).state);
    // Players over every master, and players that share a slot with another (found by search).
    const ids = [...PLAYERS];
    const bySlot = new Map<number, string>();
    for (let i = 0; ids.length < PLAYERS.length + 6; i += 1) {
      const id = `shared-${i}`;
      const other = bySlot.get(slotOfPlayer(id));
      if (other !== undefined) ids.push(other, id);
      else bySlot.set(slotOfPlayer(id), id);
    }
    const groups = slotGroups(redis, ids, (id) => playerKeys(prefix, id).state, 100);
    expect(groups.length).toBeLessThan(ids.length);
    for (const g of groups) expect(new Set(g.map(slotOfPlayer)).size).toBe(1);

    const now = Date.now();
    const write = (id: string, k: number): PlayerDecisions => ({
      playerId: id,
      decisions: [{ mark: { position: { partition: 0, offset: String(100 + k) } }, now, record: { eventId: `e-${id}`, eventType: 'match.end', at: now, bundleVersion: 1, offerId: null, rules: [] }, write: null, exposures: [] }],
    });
    const first = await runDecidePlayers(engine, prefix, ids.map(write), DAY_MS);
    expect(first.map((r) => r.status)).toEqual(ids.map(() => 'ok'));
    const reads = await readPlayersCounters(engine, prefix, ids.map((id) => ({ playerId: id, markerFields: ['d:0', 'd:1'], ruleIds: ['level-budget'] })));
    expect(reads.map((r) => r.markers.get('d:0'))).toEqual(ids.map((_, k) => 100 + k));
    expect(reads.map((r) => r.markers.get('d:1'))).toEqual(ids.map(() => null));
    // The same events again: each player's own call answers duplicate, at their decision.
    const again = await runDecidePlayers(engine, prefix, ids.map(write), DAY_MS);
    expect(again).toEqual(ids.map(() => ({ status: 'dup', index: 0, offerExists: false })));
  });
});
