/**
 * Shared pieces of the offers integration tests: a small designer bundle (compiled by the
 * real compiler, real CEL), applied events as processors hand them over, a real delivery
 * listener on an edge instance's channel.
 */
import { randomUUID } from 'node:crypto';
import { compileBundle } from '../../designer/compile.ts';
import type { Bundle } from '../../designer/types.ts';
import type { AppliedEvent, PlayerState } from '../../processors/decider-seam.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { playerKeys } from '../../lib/keys.ts';
import { offerChannel } from '../../lib/keys.ts';
import type { Offer } from '../../protocol/offer.ts';
import { sleep } from '../../lib/time.ts';
import type { Config } from '../../lib/config.ts';
import { staticBundleSource } from '../../designer/store.ts';
import { createDecider, type ClosableDecider } from '../../offers/engine/decider.ts';
import type { FollowUpJob } from '../../offers/jobs/queues.ts';
import { cleanupRedisPrefix, testConfig } from '../helpers/stack.ts';

export const EVENTS_YAML = `events:
  match.end:
    data:
      result: { enum: [win, loss, draw], required: true }
  store.open:
    data:
      tab: string
  shop.purchase:
    data:
      amount: int
      currency: string
`;

export const PROPERTIES_YAML = `properties:
  loss_streak: { streak: { event: match.end, when: 'event.data.result == "loss"' } }
  purchases: { count: { event: store.open } }
`;

export interface PolicyOpts {
  maxOffersPerDay?: number;
  quietAfterPurchase?: string;
  holdoutPercent?: number;
  /** The `revenue` block (spend for lift), e.g. `{ event: shop.purchase, amount: data.amount, currency: data.currency }`. */
  revenue?: string;
}

export function policyYaml(p: PolicyOpts = {}): string {
  const fatigue = [
    p.maxOffersPerDay !== undefined ? `  maxOffersPerDay: ${p.maxOffersPerDay}` : null,
    p.quietAfterPurchase !== undefined ? `  quietAfterPurchase: ${p.quietAfterPurchase}` : null,
  ].filter(Boolean);
  return `${fatigue.length ? `fatigue:\n${fatigue.join('\n')}\n` : ''}holdout: { percent: ${p.holdoutPercent ?? 0} }\n${p.revenue ? `revenue: ${p.revenue}\n` : ''}`;
}

export interface ComebackOpts {
  id?: string;
  ttl?: string;
  cooldown?: string;
  budget?: number;
  mode?: 'live' | 'shadow';
  priority?: number;
  followUp?: string;
  when?: string;
}

export function comebackYaml(o: ComebackOpts = {}): string {
  const limits = [o.cooldown ? `  cooldown: ${o.cooldown}` : null, o.budget !== undefined ? `  budget: { count: ${o.budget}, per: day }` : null].filter(Boolean);
  return `id: ${o.id ?? 'comeback'}
mode: ${o.mode ?? 'live'}
priority: ${o.priority ?? 100}
trigger:
  event: match.end
  when: '${o.when ?? 'event.data.result == "loss" && player.loss_streak >= 3'}'
offer:
  sku: bundle.comeback
  title: Comeback Bundle
  price: { amount: 199, currency: USD }
  ttl: ${o.ttl ?? '15m'}
${limits.length ? `limits:\n${limits.join('\n')}\n` : ''}${o.followUp ? `followUp: { after: ${o.followUp}, unless: offer.purchased, rule: comeback-reminder }\n` : ''}`;
}

export const REMINDER_YAML = `id: comeback-reminder
priority: 90
trigger:
  event: match.end
  when: 'event.data.result == "loss" && player.offers_today >= 1'
  followUpOnly: true
offer:
  sku: bundle.comeback.mini
  price: { amount: 99, currency: USD }
  ttl: 10m
`;

/** Compiles files (real compiler) or fails the test with the diagnostics. */
export function bundleOf(files: Record<string, string>, version = 1): Bundle {
  const r = compileBundle(files, { version });
  if (!r.ok) throw new Error(`test bundle does not compile: ${JSON.stringify(r.diagnostics, null, 2)}`);
  return { ...r.bundle, version };
}

export function baseFiles(rules: Record<string, string>, policy: PolicyOpts = {}): Record<string, string> {
  return { 'events.yaml': EVENTS_YAML, 'properties.yaml': PROPERTIES_YAML, 'policy.yaml': policyYaml(policy), ...rules };
}

export function stateOf(playerId: string, props: PlayerState['props'], at: number): PlayerState {
  return { id: playerId, first_seen: at, last_seen: at, events_total: 1, offers_today: 0, last_purchase_at: null, props };
}

let offset = 0;

/** One applied event as processors hand it to the decider. */
export function applied(playerId: string, type: string, data: Record<string, unknown>, recvAt: number, props: PlayerState['props'] = {}, id: string = randomUUID()): AppliedEvent {
  offset += 1;
  return {
    record: { v: 1, player: playerId, id, type, data, recvAt, edge: 'test-edge', session: 'test-session' },
    partition: 0,
    offset: String(offset),
    index: 0,
    state: stateOf(playerId, props, recvAt),
    duplicate: false,
    resent: false,
  };
}

/** A loss that satisfies the comeback condition (loss_streak 3). */
export const loss = (playerId: string, recvAt: number, streak = 3, id?: string) => applied(playerId, 'match.end', { result: 'loss' }, recvAt, { loss_streak: streak, purchases: 0 }, id);

/**
 * Registers a fake edge instance as holding the player's socket (presence) and listens on
 * that instance's delivery channel, as the edge does: what `publishOffer` sends arrives here.
 */
export async function listenAsEdge(redisUrl: string, redis: RedisClient, prefix: string, playerIds: readonly string[]) {
  const instance = `edge-${randomUUID().slice(0, 8)}`;
  for (const p of playerIds) await redis.hset(playerKeys(prefix, p).presence, instance, String(Date.now() + 600_000));
  const sub = createRedis(redisUrl, 'test-edge-sub', {}, { shardedSubscribers: true });
  const received: { player: string; offer: Offer }[] = [];
  sub.on('smessage', (_channel: string, message: string) => received.push(JSON.parse(message) as { player: string; offer: Offer }));
  await sub.ssubscribe(offerChannel(prefix, instance));
  return { received, close: () => void sub.disconnect() };
}

/** Polls `check` every 50 ms until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await sleep(50);
  }
}

export interface DeciderRig {
  readonly config: Config;
  readonly redis: RedisClient;
  readonly decider: ClosableDecider;
}

/** Deciders over a bundle, each on a fresh key prefix; `closeAll` (for afterAll) closes them and deletes their keys. */
export class DeciderRigs {
  private readonly rigs: DeciderRig[] = [];

  constructor(private readonly name: string) {}

  open(bundle: Bundle, opts: { followUps?: (job: FollowUpJob) => void } = {}): DeciderRig {
    const config = testConfig();
    const redis = createRedis(config.redisUrl ?? '', this.name);
    const decider = createDecider({ config, redis, bundles: staticBundleSource(bundle), queues: null, ...(opts.followUps ? { followUps: opts.followUps } : {}) });
    const rig = { config, redis, decider };
    this.rigs.push(rig);
    return rig;
  }

  async closeAll(): Promise<void> {
    for (const r of this.rigs.splice(0)) {
      await r.decider.close();
      await cleanupRedisPrefix(r.redis, r.config.keyPrefix);
      r.redis.disconnect();
    }
  }
}
