/**
 * Offer decision micro-benchmark: `npx tsx load/bench/offers-engine.ts` (REDIS_URL, default
 * redis://127.0.0.1:6379). A bundle of 50 rules across 10 event types, compiled by the
 * designer compiler (real CEL). Reports decisions per second for
 *   1. pure evaluation: conditions, arms, holdout, limit verdicts, explanation — no I/O;
 *   2. the Redis path: `decideBatch` (decide-batch.ts: one read, one claim per budget window,
 *      one decidePlayers-n.lua per player, stats, per chunk) on a fresh key prefix (deleted
 *      afterwards), no lifecycle jobs, no routing;
 *   3. the same with a policy revenue event (lift): every trigger of a live rule opens or
 *      extends an attribution window, every `e0.happened` is spend — the cost of lift;
 *   4. the same with the live-ops features on every rule (`benchBundle({ liveOps: true })`).
 * Each part runs for a fixed time (about 40 s in all). Prints one JSON line of figures at the end.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadConfig } from '../../lib/config.ts';
import { errorMessage } from '../../lib/errors.ts';
import { createRedis, deleteKeysUnder, type RedisClient } from '../../lib/redis.ts';
import { compileBundle } from '../../designer/compile.ts';
import { staticBundleSource } from '../../designer/static-source.ts';
import type { Bundle } from '../../designer/types.ts';
import { createDecider } from '../../offers/engine/decider.ts';
import { considerRules, limitVerdicts, liveCandidates } from '../../offers/engine/evaluate.ts';
import { conditionInput } from '../../offers/engine/input.ts';
import type { PlayerCounters } from '../../offers/engine/limits.ts';
import { shapeDecision } from '../../offers/engine/shape.ts';
import type { AppliedEvent } from '../../processors/decider-seam.ts';

const EVENT_TYPES = 10;
const RULES = 50;

/** The live-ops features the bench can put on its rules (docs/designers.md). */
export const LIVE_OPS_FEATURES = ['schedule', 'segment', 'shaped', 'bandit'] as const;
export type LiveOpsFeature = (typeof LIVE_OPS_FEATURES)[number];

/**
 * `liveOps`: the same rules with the live-ops features on (all of them, or those listed), the
 * decision path's cost of them:
 * every rule has a weekly schedule that is open all week (the check runs, the rule is always
 * considered), reads a segment (`segment.engaged`, evaluated once per event) with a
 * per-segment daily cap in the policy, and prices its offer per player (a computed
 * `price.amount` with bounds: docs/designers.md, "Offers shaped per player"); the rules with
 * an experiment (every fifth) allocate it with `allocation: bandit`.
 */
export function benchBundle(opts: { revenue?: boolean; liveOps?: boolean | readonly LiveOpsFeature[] } = {}): Bundle {
  const on = new Set<LiveOpsFeature>(opts.liveOps === true ? LIVE_OPS_FEATURES : opts.liveOps || []);
  const events = Array.from({ length: EVENT_TYPES }, (_, i) => `  e${i}.happened:\n    data:\n      value: { type: int, required: true }\n      kind: { enum: [a, b, c] }\n`).join('');
  const props = Array.from({ length: EVENT_TYPES }, (_, i) => `  count_e${i}: { count: { event: e${i}.happened } }\n  sum_e${i}: { sum: { event: e${i}.happened, field: data.value, window: 1d } }\n`).join('');
  const files: Record<string, string> = {
    'events.yaml': `events:\n${events}`,
    'properties.yaml': `properties:\n${props}`,
    'policy.yaml': `fatigue:\n  maxOffersPerDay: 1000\nholdout: { percent: 5 }\n${opts.revenue ? 'revenue: { event: e0.happened, amount: data.value, currency: USD, window: 1d }\n' : ''}${on.has('segment') ? 'segments:\n  engaged: { maxOffersPerDay: 1000 }\n' : ''}`,
  };
  if (on.has('segment')) files['segments.yaml'] = "segments:\n  engaged: 'player.count_e0 + player.count_e1 >= 0'\n";
  for (let r = 0; r < RULES; r += 1) {
    const e = r % EVENT_TYPES;
    files[`rule-${r}.yaml`] = [
      `id: rule-${r}`,
      `mode: ${r % 10 === 9 ? 'shadow' : 'live'}`,
      `priority: ${r}`,
      'trigger:',
      `  event: e${e}.happened`,
      `  when: '${on.has('segment') ? 'segment.engaged && ' : ''}event.data.value > ${(r * 7) % 100} && (event.data.kind == "a" || player.count_e${e} >= ${r % 5}) && player.sum_e${e} < 1000000'`,
      'offer:',
      `  sku: sku.${r}`,
      on.has('shaped') ? `  price: { amount: { expr: 'double(player.sum_e${e}) * 0.4', min: 99, max: 1999, round: 50, default: 199 }, currency: USD }` : '  price: { amount: 199, currency: USD }',
      '  ttl: 10m',
      'limits:',
      '  cooldown: 1h',
      `  budget: { count: 1000000, per: day }`,
      ...(r % 5 === 0 && on.has('bandit')
        ? ['experiment:', '  allocation: bandit', '  bandit: { warmup: 0 }', '  variants:', '    - { name: control, weight: 10, holdout: true }', '    - { name: a, weight: 45 }', '    - { name: b, weight: 45 }']
        : []),
      ...(r % 5 === 0 && !on.has('bandit') ? ['experiment:', '  variants:', '    - { name: control, weight: 10, holdout: true }', '    - { name: a, weight: 90 }'] : []),
      ...(on.has('schedule') ? ['schedule:', '  timeZone: Europe/Berlin', '  weekly:', '    - { days: [mon, tue, wed, thu, fri, sat, sun], from: "00:00", to: "24:00" }'] : []),
      '',
    ].join('\n');
  }
  const compiled = compileBundle(files, { version: 1 });
  // programmer error: the bench bundle is written in this file
  if (!compiled.ok) throw new Error(`bench bundle does not compile: ${JSON.stringify(compiled.diagnostics.slice(0, 3))}`);
  return compiled.bundle;
}

function appliedEvent(i: number, players: number, at: number): AppliedEvent {
  const e = i % EVENT_TYPES;
  const player = `bench-${i % players}`;
  const props: Record<string, number> = {};
  for (let k = 0; k < EVENT_TYPES; k += 1) {
    props[`count_e${k}`] = (i * 7 + k) % 9;
    props[`sum_e${k}`] = (i * 13 + k) % 5000;
  }
  return {
    record: { v: 1, player, id: `ev-${i}-${randomUUID().slice(0, 8)}`, type: `e${e}.happened`, data: { value: (i * 37) % 100, kind: ['a', 'b', 'c'][i % 3] }, recvAt: at + i, edge: 'bench', session: 'bench' },
    partition: 0,
    offset: String(i),
    index: 0,
    state: { id: player, first_seen: at, last_seen: at + i, events_total: i, offers_today: 0, last_purchase_at: null, props },
    duplicate: false,
    resent: false,
  };
}

const NO_COUNTERS: PlayerCounters = { rules: new Map(), offersToday: 0, offersDay: null, lastPurchaseAt: null, lastDeclineAt: null };

/** Pure evaluation for about `ms` (at most `max` events): decisions (triggering events decided) per second. */
export function benchPure(bundle: Bundle, ms: number, max = 1_000_000): { events: number; rulesConsidered: number; seconds: number; decisionsPerSec: number; rulesPerSec: number } {
  const events = Array.from({ length: 1000 }, (_, i) => appliedEvent(i, 1000, Date.UTC(2026, 0, 1)));
  let considered = 0;
  const t0 = process.hrtime.bigint();
  const stopAt = Date.now() + ms;
  let n = 0;
  for (let i = 0; i < max; i += 1) {
    if (i % 500 === 0 && Date.now() >= stopAt) break;
    n += 1;
    const ev = events[i % events.length] as AppliedEvent;
    const rules = bundle.rulesByEvent.get(ev.record.type) ?? [];
    const input = conditionInput(ev.record, ev.state);
    const c = considerRules(rules, input, ev.record.player, bundle.policy, ev.record.recvAt);
    const verdicts = limitVerdicts(c, NO_COUNTERS, new Map(), bundle.policy, ev.record.recvAt);
    const winner = liveCandidates(c, verdicts)[0]?.rule.id ?? null;
    shapeDecision({ eventId: ev.record.id, eventType: ev.record.type, at: ev.record.recvAt, bundleVersion: 1, considered: c, verdicts, winner, offerIds: new Map() });
    considered += rules.length;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { events: n, rulesConsidered: considered, seconds, decisionsPerSec: Math.round(n / seconds), rulesPerSec: Math.round(considered / seconds) };
}

/** The Redis path for about `ms` (at most `max` events) for `players` players in batches of `batch`. */
export async function benchRedis(redis: RedisClient, bundle: Bundle, ms: number, max: number, players: number, batch: number) {
  const config = { ...loadConfig({ PLAYPULSE_KEY_PREFIX: `bench-${randomBytes(4).toString('hex')}`, PLAYPULSE_LOG_LEVEL: 'warn' }), redisUrl: 'redis://unused' };
  const decider = createDecider({ config, redis, bundles: staticBundleSource(bundle), queues: null, publish: async () => 0 });
  const at = Date.now();
  const events = Array.from({ length: max }, (_, i) => appliedEvent(i, players, at));
  const t0 = process.hrtime.bigint();
  const stopAt = Date.now() + ms;
  let n = 0;
  for (let i = 0; i < max && Date.now() < stopAt; i += batch) {
    const slice = events.slice(i, i + batch);
    await decider.decideBatch(slice);
    n += slice.length;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await decider.close();
  const offers = await countOffers(redis, config.keyPrefix, players);
  await deleteKeysUnder(redis, config.keyPrefix);
  return { events: n, players, batch, offers, seconds, decisionsPerSec: Math.round(n / seconds) };
}

async function countOffers(redis: RedisClient, prefix: string, players: number): Promise<number> {
  let total = 0;
  for (let p = 0; p < players; p += 1) total += await redis.zcard(`${prefix}:{p:bench-${p}}:inbox`);
  return total;
}

async function main(): Promise<void> {
  const bundle = benchBundle();
  benchPure(bundle, 1_000);
  const pure = benchPure(bundle, 8_000);
  process.stdout.write(`pure evaluation: ${pure.decisionsPerSec} decisions/s (${pure.rulesPerSec} rule evaluations/s; 5 rules per event type)\n`);
  // As the processors' decider client (bin/roles.ts): auto-pipelined.
  const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'bench-offers', { enableAutoPipelining: true });
  try {
    await benchRedis(redis, bundle, 2_000, 2_000, 500, 500);
    const viaRedis = await benchRedis(redis, bundle, 15_000, 100_000, 5_000, 1_000);
    process.stdout.write(`Redis path: ${viaRedis.decisionsPerSec} decisions/s (${viaRedis.events} events, ${viaRedis.players} players, batches of ${viaRedis.batch}, ${viaRedis.offers} offers made)\n`);
    const withLift = await benchRedis(redis, benchBundle({ revenue: true }), 15_000, 100_000, 5_000, 1_000);
    const ratio = (withLift.decisionsPerSec / viaRedis.decisionsPerSec).toFixed(2);
    process.stdout.write(`Redis path with a revenue event (lift): ${withLift.decisionsPerSec} decisions/s (${withLift.offers} offers made), ${ratio}× the path without\n`);
    const liveOps = await benchRedis(redis, benchBundle({ liveOps: true }), 15_000, 100_000, 5_000, 1_000);
    const liveOpsRatio = (liveOps.decisionsPerSec / viaRedis.decisionsPerSec).toFixed(2);
    process.stdout.write(`Redis path with live-ops features (schedule, segment, segment cap, computed price on every rule; bandit experiments): ${liveOps.decisionsPerSec} decisions/s (${liveOps.offers} offers made), ${liveOpsRatio}× the path without\n`);
    process.stdout.write(`${JSON.stringify({ pure, redis: viaRedis, redisWithLift: withLift, redisWithLiveOps: liveOps })}\n`);
  } finally {
    redis.disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`offers bench failed: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
