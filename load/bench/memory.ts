/**
 * Redis bytes per player for the sample game (offers/rules, as published: its policy, its
 * holdout, its rules): players send the bench's event mix through the real apply script
 * and the real offers engine (no lifecycle queues, no edge), each with a client stream and
 * seq as the SDK sends them, game time advancing a few seconds per event; offers past their
 * expiry leave the inbox as the expiry jobs make them. After 100, 1,000 and 10,000 events per player, `MEMORY USAGE` of every key of
 * every player, summed by key kind, averaged per player, and projected to 1 M and 10 M
 * players. A measurement, never an assertion.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Cluster } from 'ioredis';
import { join } from 'node:path';
import { playerKeys, playerTag } from '../../lib/keys.ts';
import { createRedis, deleteKeysUnder, type RedisClient } from '../../lib/redis.ts';
import type { Config } from '../../lib/config.ts';
import { compileBundle } from '../../designer/compile.ts';
import { staticBundleSource } from '../../designer/store.ts';
import { createDecider } from '../../offers/engine/decider.ts';
import { runRespond } from '../../offers/engine/redis-ops.ts';
import { applyItems, DEFAULT_SEEN_AGE_MS, DEFAULT_SEEN_MAX, type ApplyItem } from '../../processors/apply.ts';
import { planFor } from '../../processors/plan.ts';
import { withScripts } from '../../processors/scripts.ts';
import type { EventRecord } from '../../protocol/record.ts';
import { createEventSource } from '../scenarios/index.ts';

export interface MemoryStage {
  readonly eventsPerPlayer: number;
  /** Average bytes per player, by key kind (the suffix after the player's tag). */
  readonly byKind: Record<string, number>;
  readonly totalPerPlayer: number;
  /**
   * What the target counts: state, limits, windows, de-duplication markers and recent
   * explanations; the rest (pending offers, their ledger, attribution windows) lives only
   * while a player has offers or open lift windows, bounded by count and age.
   */
  readonly corePerPlayer: number;
  /** Keys per player without an expiry (should be 0). */
  readonly keysWithoutExpiry: number;
  readonly projectedGiB: { readonly '1M': number; readonly '10M': number };
}

export interface MemoryFigures {
  readonly players: number;
  readonly properties: number;
  readonly rules: number;
  readonly stages: MemoryStage[];
  readonly seconds: number;
}

const STAGES = [100, 1_000, 10_000] as const;
/** Key kinds of a player's live profile and markers (lib/keys.ts). */
export const CORE_KINDS = ['state', 'limits', 'win', 'wm', 'seen', 'decisions'] as const;
/** Game time between two events of a player: 10,000 events span about 8 hours. */
const EVENT_GAP_MS = 3_000;
const CHUNK = 2_000;

function sampleBundle() {
  const dir = 'offers/rules';
  const files: Record<string, string> = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) files[f] = readFileSync(join(dir, f), 'utf8');
  const r = compileBundle(files, { version: 1 });
  // programmer error: the sample rules ship compiling
  if (!r.ok) throw new Error(`the sample rules do not compile: ${JSON.stringify(r.diagnostics)}`);
  return r.bundle;
}

async function measure(redis: RedisClient, prefix: string, players: readonly string[], eventsPerPlayer: number): Promise<MemoryStage> {
  const byKind: Record<string, number> = {};
  let noExpiry = 0;
  for (const p of players) {
    const tag = playerTag(prefix, p);
    const pattern = `${tag.replace(/[{}*?[\]\\]/g, '\\$&')}:*`;
    // A player's keys share one slot: KEYS on each master finds them all on a cluster too.
    const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
    const keys = (await Promise.all(nodes.map((n) => n.keys(pattern)))).flat();
    const pipe = redis.pipeline();
    for (const k of keys) {
      pipe.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
      pipe.pttl(k);
    }
    const res = (await pipe.exec()) ?? [];
    keys.forEach((k, i) => {
      const kind = k.slice(tag.length + 1);
      byKind[kind] = (byKind[kind] ?? 0) + Number(res[2 * i]?.[1] ?? 0);
      if (Number(res[2 * i + 1]?.[1]) === -1) noExpiry += 1;
    });
  }
  const avg: Record<string, number> = {};
  for (const [k, v] of Object.entries(byKind).sort()) avg[k] = Math.round(v / players.length);
  const total = Object.values(avg).reduce((s, v) => s + v, 0);
  const core = CORE_KINDS.reduce((s, k) => s + (avg[k] ?? 0), 0);
  const gib = (n: number) => Math.round(((total * n) / 2 ** 30) * 10) / 10;
  return { eventsPerPlayer, byKind: avg, totalPerPlayer: total, corePerPlayer: core, keysWithoutExpiry: noExpiry, projectedGiB: { '1M': gib(1e6), '10M': gib(1e7) } };
}

export async function runMemoryBench(opts: { config: Config; quick: boolean; runId: string }): Promise<MemoryFigures> {
  const t0 = Date.now();
  const bundle = sampleBundle();
  const plan = planFor(bundle);
  const prefix = `${opts.config.keyPrefix}-mem-${opts.runId}`;
  const redis = createRedis(opts.config.redisUrl ?? '', 'bench-memory');
  const apply = withScripts(redis);
  const decider = createDecider({ config: { ...opts.config, keyPrefix: prefix }, redis, bundles: staticBundleSource(bundle), queues: null, publish: async () => 0 });
  const nPlayers = opts.quick ? 4 : 20;
  const players = Array.from({ length: nPlayers }, (_, i) => `mem-${i}`);
  const sources = players.map((p, i) => createEventSource({ seed: 1_000 + i, payloadBytes: 0, idPrefix: `${p}-` }));
  // Game time starts a day ago so that the 8 hours of play end before now.
  const start = Date.now() - 86_400_000;
  const seq = new Array<number>(nPlayers).fill(0);
  const offset = new Array<number>(1).fill(0);
  const stages: MemoryStage[] = [];
  try {
    let sent = 0;
    for (const target of STAGES) {
      while (sent < target) {
        const step = Math.min(target - sent, Math.max(1, Math.floor(CHUNK / nPlayers)));
        const items: ApplyItem[] = [];
        for (let e = 0; e < step; e += 1) {
          for (let i = 0; i < nPlayers; i += 1) {
            const player = players[i] as string;
            const at = start + (sent + e) * EVENT_GAP_MS + i;
            const w = (sources[i] as ReturnType<typeof createEventSource>).next(at);
            seq[i] = (seq[i] as number) + 1;
            const record: EventRecord = { v: 1, player, id: w.id, type: w.type, ...(w.data ? { data: w.data } : {}), ts: at, recvAt: at, edge: 'bench', session: 'bench', stream: `${player}-app`, seq: seq[i] as number };
            items.push({ record, partition: i % 6, offset: String((offset[0] = (offset[0] as number) + 1)), index: 0 });
          }
        }
        const out = await applyItems(apply, plan, items, { keyPrefix: prefix, seenMax: DEFAULT_SEEN_MAX, seenAgeMs: DEFAULT_SEEN_AGE_MS });
        await decider.decideBatch(out.applied);
        sent += step;
        // What the expiry jobs do live (offers/jobs/expiry.ts): offers past expiresAt leave the inbox.
        const now = start + sent * EVENT_GAP_MS;
        for (const p of players) {
          for (const id of await redis.zrangebyscore(playerKeys(prefix, p).inbox, '-inf', now)) {
            await runRespond(decider.context.redis, prefix, p, id, 'expired', now, null, bundle.policy.retentionMs);
          }
        }
      }
      stages.push(await measure(redis, prefix, players, target));
    }
  } finally {
    await decider.close();
    if (!process.env.MEM_KEEP) await deleteKeysUnder(redis, prefix).catch(() => 0);
    redis.disconnect();
  }
  return { players: nPlayers, properties: bundle.properties.length, rules: bundle.rules.length, stages, seconds: Math.round((Date.now() - t0) / 1000) };
}
