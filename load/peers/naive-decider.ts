/**
 * THE COMPARISON BASELINE of the processor benchmark with rules live — not part of PlayPulse,
 * never run by it. Event processing with offer decisions written the way most teams would
 * write it first: kafkajs `eachMessage`, and for every event, one awaited Redis command after
 * another:
 *
 *   1. apply the event to the player's hash as the naive processor does (naive-processor.ts);
 *   2. read the player's hash back (its properties and its offer counters) with one HGETALL,
 *      and a rule's budget counter with a GET for each rule with a budget that reached the
 *      limit checks;
 *   3. evaluate the bundle's rules with the project's own pure functions
 *      (offers/engine/evaluate.ts: considerRules, limitVerdicts, liveCandidates);
 *   4. write the offer of the winning live rule (HSET of the offer, ZADD to the inbox, the
 *      counters on the player's hash, INCR of the budget) and the decision (HSET, JSON).
 *
 * No idempotency, no atomicity, no lifecycle jobs, no delivery: it does less per event than
 * ours. Windowed properties are summed over every bucket ever written (never expired).
 * load/bench/processors-throughput.ts runs it on the same events as our processors with
 * the offers decider on, and reports the ratio.
 */
import type { Kafka } from 'kafkajs';
import type { RedisClient } from '../../lib/redis.ts';
import type { Bundle, Rule } from '../../designer/types.ts';
import { considerRules, limitVerdicts, liveCandidates, type Considered } from '../../offers/engine/evaluate.ts';
import { conditionInput } from '../../offers/engine/input.ts';
import { budgetWindowStart, cooldownAfter, dayIndex, type PlayerCounters } from '../../offers/engine/limits.ts';
import type { PlayerState } from '../../processors/decider-seam.ts';
import { decodeRecord, type EventRecord } from '../../protocol/record.ts';
import { applyNaive } from './naive-processor.ts';

export interface NaiveDeciderOptions {
  readonly kafka: Kafka;
  readonly redis: RedisClient;
  readonly topic: string;
  readonly groupId: string;
  readonly keyPrefix: string;
  readonly bundle: Bundle;
  readonly concurrency?: number;
  /** Called after each event is applied and decided, every write done. */
  readonly onEvent?: () => void;
}

/** The naive keys of one player; the inbox is what counts the offers made. */
export const naiveKeys = (keyPrefix: string, player: string) => ({
  player: `${keyPrefix}:naive:${player}`,
  inbox: `${keyPrefix}:naive-inbox:${player}`,
  decisions: `${keyPrefix}:naive-decisions:${player}`,
});

function stateOf(record: EventRecord, hash: Record<string, string>, bundle: Bundle): PlayerState {
  const props: Record<string, number | string | null> = {};
  for (const p of bundle.properties) {
    if (p.windowMs) {
      let sum = 0;
      for (const [field, v] of Object.entries(hash)) if (field.startsWith(`${p.name}:`)) sum += Number(v);
      props[p.name] = sum;
    } else {
      const v = hash[p.name];
      props[p.name] = v === undefined ? null : p.kind === 'last' && p.valueType === 'string' ? v : Number(v);
    }
  }
  return {
    id: record.player,
    first_seen: record.recvAt,
    last_seen: record.recvAt,
    events_total: Number(hash.events_total ?? 0),
    offers_today: Number(hash.offers_today ?? 0),
    last_purchase_at: null,
    props,
  };
}

function countersOf(hash: Record<string, string>, rules: readonly Rule[]): PlayerCounters {
  const byRule = new Map<string, { cooldownUntil: number | null; lifetime: number }>();
  for (const rule of rules) {
    const until = hash[`limit:${rule.id}:cooldown`];
    byRule.set(rule.id, { cooldownUntil: until === undefined ? null : Number(until), lifetime: Number(hash[`limit:${rule.id}:lifetime`] ?? 0) });
  }
  const day = hash.offers_day;
  return { rules: byRule, offersToday: Number(hash.offers_today ?? 0), offersDay: day === undefined ? null : Number(day), lastPurchaseAt: null, lastDeclineAt: null };
}

const budgetKey = (keyPrefix: string, rule: Rule, at: number) => `${keyPrefix}:naive-budget:${rule.id}:${budgetWindowStart(at, rule.limits.budget?.per ?? 'day')}`;

async function writeOffer(r: RedisClient, keyPrefix: string, record: EventRecord, winner: Considered, counters: PlayerCounters): Promise<void> {
  const k = naiveKeys(keyPrefix, record.player);
  const rule = winner.rule;
  const offerId = `${record.id}:${rule.id}`;
  const expiresAt = record.recvAt + rule.offer.ttlMs;
  await r.hset(`${keyPrefix}:naive-offer:${offerId}`, { player: record.player, rule: rule.id, variant: winner.variant?.name ?? '', sku: rule.offer.sku, amount: rule.offer.price.amount, currency: rule.offer.price.currency, expiresAt, event: record.id });
  await r.zadd(k.inbox, expiresAt, offerId);
  const until = cooldownAfter(rule, record.recvAt);
  if (until !== null) await r.hset(k.player, `limit:${rule.id}:cooldown`, until);
  await r.hincrby(k.player, `limit:${rule.id}:lifetime`, 1);
  const today = dayIndex(record.recvAt);
  if (counters.offersDay === today) await r.hincrby(k.player, 'offers_today', 1);
  else await r.hset(k.player, 'offers_day', today, 'offers_today', 1);
  if (rule.limits.budget) await r.incr(budgetKey(keyPrefix, rule, record.recvAt));
}

/** Applies and decides one event, every Redis command awaited in turn. */
export async function decideNaive(r: RedisClient, keyPrefix: string, bundle: Bundle, record: EventRecord): Promise<void> {
  await applyNaive(r, keyPrefix, bundle, record);
  const rules = bundle.rulesByEvent.get(record.type) ?? [];
  if (rules.length === 0) return;
  const k = naiveKeys(keyPrefix, record.player);
  const hash = await r.hgetall(k.player);
  const input = conditionInput(record, stateOf(record, hash, bundle), bundle);
  const considered = considerRules(rules, input, record.player, bundle.policy, record.recvAt);
  const counters = countersOf(hash, rules);
  const budgetUsed = new Map<string, number>();
  for (const c of considered) {
    if (c.pre === null && c.rule.limits.budget) budgetUsed.set(c.rule.id, Number(await r.get(budgetKey(keyPrefix, c.rule, record.recvAt))));
  }
  const verdicts = limitVerdicts(considered, counters, budgetUsed, bundle.policy, record.recvAt);
  const winner = liveCandidates(considered, verdicts)[0] ?? null;
  if (winner) await writeOffer(r, keyPrefix, record, winner, counters);
  const outcomes = considered.map((c) => [c.rule.id, c.pre ?? verdicts.get(c.rule.id)?.outcome ?? (c === winner ? 'offer' : c.rule.mode)]);
  await r.hset(k.decisions, record.id, JSON.stringify({ event: record.type, at: record.recvAt, winner: winner?.rule.id ?? null, outcomes }));
}

/** Starts the naive deciding consumer; resolves once it runs. */
export async function startNaiveDecider(opts: NaiveDeciderOptions): Promise<{ stop(): Promise<void> }> {
  const consumer = opts.kafka.consumer({ groupId: opts.groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: opts.concurrency ?? 4,
    eachMessage: async ({ message }) => {
      let record;
      try {
        record = decodeRecord(message.value);
      } catch {
        return;
      }
      await decideNaive(opts.redis, opts.keyPrefix, opts.bundle, record);
      opts.onEvent?.();
    },
  });
  return { stop: () => consumer.disconnect() };
}
