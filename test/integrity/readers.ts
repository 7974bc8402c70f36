/**
 * Readers that collect what the system actually stored, for the checks in checks.ts:
 * every record of a topic (from the beginning up to the high watermark at call time) and a
 * player's state, offers and decisions from Redis (key layout of lib/keys.ts).
 */
import { randomUUID } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';
import { logLevel, type IHeaders } from 'kafkajs';
import { createKafka } from '../../lib/kafka.ts';
import { decodeDecisionList } from '../../offers/engine/explain-codec.ts';
import { decodeLedger } from '../../offers/engine/offer.ts';
import { playerKeys } from '../../lib/keys.ts';
import type { RedisClient } from '../../lib/redis.ts';
import { decodeRecords } from '../../protocol/record.ts';
import type { Offer } from '../../protocol/offer.ts';
import type { OfferSeen, StateValue, TopicRecord } from './checks.ts';
import { errorMessage } from '../../lib/errors.ts';

/** One message of a topic as the readers see it (valid for the mapper's call only). */
export interface TopicMessage {
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: IHeaders | undefined;
}

/**
 * Every event of `topic` from offset 0 to the high watermark of each partition as it is
 * when the call starts, one entry per event (a version-2 record holds a frame's events).
 * Uses a throw-away consumer group (deleted afterwards). Values that do not decode as event
 * records come back as one entry with `record: null` and the reason.
 */
export async function readTopicRecords(brokers: readonly string[], topic: string, timeoutMs = 120_000): Promise<TopicRecord[]> {
  const perMessage = await readTopic(brokers, topic, (m) => toTopicRecords(m.partition, m.offset, m.key, m.value, headerText(m.headers)), timeoutMs);
  return perMessage.flat();
}

/**
 * What `map` makes of every message of `topic` from offset 0 to the high watermark of each
 * partition when the call starts, in partition order; `undefined` leaves a message out.
 * Uses a throw-away consumer group (deleted afterwards).
 */
export async function readTopic<T>(brokers: readonly string[], topic: string, map: (m: TopicMessage) => T | undefined, timeoutMs = 120_000): Promise<T[]> {
  const kafka = createKafka(brokers, `integrity-reader-${randomUUID().slice(0, 8)}`, { logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `integrity-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, maxBytes: 64 * 1024 * 1024 });
  const out: T[] = [];
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const pending = new Map<number, bigint>();
    for (const o of offsets) {
      if (BigInt(o.high) > BigInt(o.low)) pending.set(o.partition, BigInt(o.high));
    }
    if (pending.size === 0) return out;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} did not reach the high watermark within ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const high = pending.get(batch.partition);
            for (const m of batch.messages) {
              const offset = BigInt(m.offset);
              if (high === undefined || offset >= high) continue;
              const mapped = map({ partition: batch.partition, offset: m.offset, key: m.key, value: m.value, headers: m.headers });
              if (mapped !== undefined) out.push(mapped);
              if (offset === high - 1n) pending.delete(batch.partition);
            }
            if (pending.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        });
    });
    return out;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

function headerText(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

function toTopicRecords(partition: number, offset: string, key: Buffer | null, value: Buffer | null, headers: Record<string, string>): TopicRecord[] {
  const k = key ? key.toString('utf8') : null;
  try {
    return decodeRecords(value).map((record, index) => ({ partition, offset, index, key: k, record, decodeError: null, headers }));
  } catch (err) {
    return [{ partition, offset, key: k, record: null, decodeError: errorMessage(err), headers }];
  }
}

/** The player's state hash as stored (field -> string); empty when the player has none. */
export async function readPlayerStateRaw(redis: RedisClient, prefix: string, player: string): Promise<Record<string, string>> {
  return redis.hgetall(playerKeys(prefix, player).state);
}

/** Numeric-looking values as numbers, everything else as stored. */
export function typedState(raw: Readonly<Record<string, string>>): Record<string, StateValue> {
  const out: Record<string, StateValue> = {};
  for (const [k, v] of Object.entries(raw)) out[k] = v !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  return out;
}

/** State of many players, keyed by player; players without state are left out. */
export async function readPlayerStates(
  redis: RedisClient,
  prefix: string,
  players: Iterable<string>,
): Promise<Map<string, Record<string, StateValue>>> {
  const out = new Map<string, Record<string, StateValue>>();
  const list = [...players];
  for (let i = 0; i < list.length; i += 200) {
    const chunk = list.slice(i, i + 200);
    const raws = await Promise.all(chunk.map((p) => readPlayerStateRaw(redis, prefix, p)));
    chunk.forEach((p, j) => {
      const raw = raws[j] ?? {};
      if (Object.keys(raw).length > 0) out.set(p, typedState(raw));
    });
  }
  return out;
}

/**
 * Every player id with a state hash under `prefix` (SCAN on every master), to catch state
 * written under a player nobody was authenticated as.
 */
export async function scanPlayersWithState(redis: RedisClient, prefix: string): Promise<Set<string>> {
  // `instanceof`, not the constructor's name: ioredis mixes EventEmitter into Cluster's
  // prototype, so a Cluster's `constructor.name` is `EventEmitter`, and a SCAN sent through
  // the cluster client reaches one random master only.
  const nodes: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const players = new Set<string>();
  const pattern = `${prefix}:{p:*}:state`;
  const re = new RegExp(`^${escapeRegExp(prefix)}:\\{p:(.*)\\}:state$`);
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        const m = re.exec(k);
        if (m?.[1] !== undefined) players.add(m[1]);
      }
    } while (cursor !== '0');
  }
  return players;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface StoredOffer extends Offer {
  readonly createdAt?: number;
}

/** A player's offer records (`:offers`, every offer ever recorded and not yet cleaned) and pending inbox ids. */
export async function readPlayerOffers(
  redis: RedisClient,
  prefix: string,
  player: string,
): Promise<{ offers: StoredOffer[]; inbox: string[] }> {
  const keys = playerKeys(prefix, player);
  const [hash, inbox] = await Promise.all([redis.hgetall(keys.offers), redis.zrange(keys.inbox, 0, -1)]);
  const offers: StoredOffer[] = [];
  for (const json of Object.values(hash)) offers.push(JSON.parse(json) as StoredOffer);
  return { offers, inbox };
}

/** The player's latest decisions (explanations) kept in Redis, newest first, decoded from their compact form. */
export async function readPlayerDecisions(redis: RedisClient, prefix: string, player: string): Promise<Record<string, unknown>[]> {
  return decodeDecisionList(await redis.getBuffer(playerKeys(prefix, player).decisions)) as unknown as Record<string, unknown>[];
}

/** One lifecycle record of the offer ledger (offers/engine/offer.ts `LedgerRecord`), as stored. */
export interface LedgerEntry {
  readonly offerId: string;
  readonly ruleId: string;
  readonly variant: string | null;
  readonly eventId: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly responses: Readonly<Record<string, number>>;
}

/** The player's offer ledger: every offer made for them (bounded), whatever happened to it since. */
export async function readPlayerLedger(redis: RedisClient, prefix: string, player: string): Promise<LedgerEntry[]> {
  return [...decodeLedger(await redis.getBuffer(playerKeys(prefix, player).ledger)).values()];
}

/**
 * Offers each player was made by `ruleId` over their lifetime: the `n:<rule>` counter of the
 * player's limits, incremented in the same script that makes the offer, so exact whatever
 * the ledger (which keeps only the latest few) still holds.
 */
export async function lifetimeOffers(redis: RedisClient, prefix: string, players: Iterable<string>, ruleId: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const player of players) out.set(player, Number((await redis.hget(playerKeys(prefix, player).limits, `n:${ruleId}`)) ?? 0));
  return out;
}

/** The offers made for many players, from their ledgers (the latest 10 each), in the shape the checks take. */
export async function collectOffers(redis: RedisClient, prefix: string, players: Iterable<string>): Promise<OfferSeen[]> {
  const out: OfferSeen[] = [];
  for (const player of players) {
    for (const o of await readPlayerLedger(redis, prefix, player)) {
      out.push({ player, offerId: o.offerId, ruleId: o.ruleId, triggerEventId: o.eventId, createdAt: o.createdAt });
    }
  }
  return out;
}
