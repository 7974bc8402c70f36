import { createRequire } from 'node:module';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../lib/log.ts';
import { errorMessage } from '../lib/errors.ts';
import { sleep } from '../lib/time.ts';

/**
 * Evicting this slot's previous incarnation from the consumer group (docs/operations.md
 * "Failover"). A processor killed without leaving stays a member of the group until its
 * session times out, and the coordinator holds every join until then — so a restarted
 * process would wait the dead member's whole session. Kafka removes a dynamic member at
 * once on a LeaveGroup request carrying its member id, whoever sends it; kafkajs 2.2.4 has
 * no static membership and no public LeaveGroup for another member, so this module
 * reaches its internal cluster (see `kafkaInternals`).
 *
 * The slot is a stable process identity (PLAYPULSE_PROCESSOR_SLOT, or an explicit
 * PLAYPULSE_INSTANCE_ID): the record `<prefix>:{proc}:member:<slot>` holds the member id
 * of the process holding the slot and the Redis server time of its last refresh; it is
 * refreshed every heartbeat interval and expires (PEXPIRE, relative) after the session
 * timeout, when the broker has evicted the member anyway. A starting process evicts the
 * recorded member only when the record is stale (not refreshed for `staleMs`, Redis
 * clock): a live holder keeps it fresh, so two processes given the same slot never evict
 * each other — that is a misconfiguration, logged as an error by both, and costs only the
 * eviction (a restart then waits the session as before).
 */

/** The kafkajs version whose internals `kafkaInternals` relies on. */
export const KAFKAJS_INTERNALS_VERSION = '2.2.4';

interface InternalBroker {
  leaveGroup(args: { groupId: string; memberId: string }): Promise<unknown>;
}
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(args: { groupId: string }): Promise<InternalBroker>;
}
type CreateCluster = (opts: { allowAutoTopicCreation: boolean }) => InternalCluster;

/**
 * kafkajs' own cluster object (connections, metadata, coordinator lookup) for a `Kafka`
 * client, as `kafka.admin()` builds it: the client keeps its factory under the symbol
 * `private:Kafka:createCluster` (kafkajs/src/index.js), and the cluster's
 * `findGroupCoordinator` returns a broker with `leaveGroup({ groupId, memberId })`. Pinned
 * to kafkajs 2.2.4: throws at once, with the reason, if the installed version or these
 * internals differ (processors/evict.test.ts fails too), rather than misbehaving.
 */
export function kafkaInternals(kafka: Kafka): { createCluster: CreateCluster } {
  const version = (createRequire(import.meta.url)('kafkajs/package.json') as { version: string }).version;
  if (version !== KAFKAJS_INTERNALS_VERSION) {
    // programmer error: kafkajs was upgraded without re-checking the internals this file uses
    throw new Error(`processors/evict.ts relies on kafkajs ${KAFKAJS_INTERNALS_VERSION} internals, installed is ${version}: check them and update`);
  }
  const sym = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const factory = sym === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[sym];
  // programmer error: kafkajs was upgraded without re-checking the internals this file uses
  if (typeof factory !== 'function') throw new Error('kafkajs internals changed: Kafka has no private:Kafka:createCluster');
  return { createCluster: factory as CreateCluster };
}

/** Sends LeaveGroup for `memberId` to the group's coordinator. False if the broker no longer knows the member. */
export async function leaveGroupFor(kafka: Kafka, groupId: string, memberId: string): Promise<boolean> {
  const cluster = kafkaInternals(kafka).createCluster({ allowAutoTopicCreation: false });
  await cluster.connect();
  try {
    const coordinator = await cluster.findGroupCoordinator({ groupId });
    // programmer error: kafkajs was upgraded without re-checking the internals this file uses
    if (typeof coordinator.leaveGroup !== 'function') throw new Error('kafkajs internals changed: coordinator broker has no leaveGroup');
    try {
      await coordinator.leaveGroup({ groupId, memberId });
      return true;
    } catch (err) {
      if ((err as { type?: string }).type === 'UNKNOWN_MEMBER_ID') return false;
      throw err;
    }
  } finally {
    await cluster.disconnect().catch(() => undefined);
  }
}

/** The Redis commands the slot record needs (any ioredis client). */
export interface SlotRedis {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>;
  time(): Promise<[string, string] | unknown[]>;
  del(key: string): Promise<number>;
}

interface SlotRecord {
  readonly memberId: string;
  /** Redis server time (ms) of the last refresh. */
  readonly at: number;
}

export interface SlotOptions {
  readonly redis: SlotRedis;
  readonly keyPrefix: string;
  readonly slot: string;
  readonly groupId: string;
  /** Refresh period of the record: the consumer's heartbeat interval. */
  readonly refreshMs: number;
  /** Record lifetime: the session timeout (after it the broker has evicted the member itself). */
  readonly sessionTimeoutMs: number;
  readonly log: Logger;
}

export const slotKey = (keyPrefix: string, slot: string): string => `${keyPrefix}:{proc}:member:${slot}`;

async function redisNowMs(redis: SlotRedis): Promise<number> {
  const [sec, usec] = (await redis.time()) as [string, string];
  return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
}

function parseRecord(raw: string | null): SlotRecord | null {
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Partial<SlotRecord>;
    return typeof v.memberId === 'string' && typeof v.at === 'number' ? { memberId: v.memberId, at: v.at } : null;
  } catch {
    return null;
  }
}

/** The slot record of one processor: evicts its previous incarnation, then keeps its own member id recorded. */
export class ProcessorSlot {
  private memberId: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly key: string;

  constructor(private readonly opts: SlotOptions) {
    this.key = slotKey(opts.keyPrefix, opts.slot);
  }

  get name(): string {
    return this.opts.slot;
  }

  /** Stale after two missed refreshes. */
  get staleMs(): number {
    return 2 * this.opts.refreshMs;
  }

  /**
   * Before joining: if the slot records a member that is not refreshing it any more, sends
   * LeaveGroup for it. Waits at most until the record would turn stale; a record refreshed
   * meanwhile means a live process holds this slot: nothing is evicted. Never throws (the
   * fallback is the session timeout); returns what it did.
   */
  async evictPrevious(kafka: Kafka): Promise<'none' | 'evicted' | 'gone' | 'live' | 'failed'> {
    const o = this.opts;
    const t0 = Date.now();
    try {
      const first = parseRecord(await o.redis.get(this.key));
      if (!first) return 'none';
      let now = await redisNowMs(o.redis);
      if (now - first.at < this.staleMs) {
        await sleep(this.staleMs - (now - first.at) + 50);
        const again = parseRecord(await o.redis.get(this.key));
        if (!again) return 'none';
        if (again.at !== first.at || again.memberId !== first.memberId) {
          o.log.error({ slot: o.slot, memberId: again.memberId }, 'processor slot is held by a live process: two processes configured with the same PLAYPULSE_PROCESSOR_SLOT; not evicting');
          return 'live';
        }
        now = await redisNowMs(o.redis);
      }
      const left = await leaveGroupFor(kafka, o.groupId, first.memberId);
      o.log.info({ slot: o.slot, memberId: first.memberId, staleForMs: now - first.at, ms: Date.now() - t0, known: left }, left ? 'evicted previous member of this slot' : 'previous member of this slot already gone');
      return left ? 'evicted' : 'gone';
    } catch (err) {
      o.log.warn({ slot: o.slot, err: errorMessage(err) }, 'could not evict previous member of this slot; the group waits its session');
      return 'failed';
    }
  }

  /** After joining (and after each rejoin, which may bring a new member id): records it and keeps it fresh. */
  claim(memberId: string): void {
    this.memberId = memberId;
    void this.refresh();
    this.timer ??= setInterval(() => void this.refresh(), this.opts.refreshMs);
    this.timer.unref();
  }

  private async refresh(): Promise<void> {
    const memberId = this.memberId;
    if (memberId === null) return;
    const o = this.opts;
    try {
      const before = parseRecord(await o.redis.get(this.key));
      const at = await redisNowMs(o.redis);
      if (before && !this.held.has(before.memberId) && this.held.size > 0 && this.wrote && at - before.at < this.staleMs) {
        o.log.error({ slot: o.slot, other: before.memberId, memberId }, 'another process holds the same PLAYPULSE_PROCESSOR_SLOT: misconfiguration, a restart of either waits the full session');
      }
      if (this.memberId !== memberId) return;
      await o.redis.set(this.key, JSON.stringify({ memberId, at }), 'PX', o.sessionTimeoutMs + o.refreshMs);
      this.held.add(memberId);
      this.wrote = true;
    } catch (err) {
      o.log.warn({ slot: o.slot, err: errorMessage(err) }, 'could not refresh processor slot record');
    }
  }

  /** Member ids this process has held (a rejoin after an eviction brings a new one). */
  private readonly held = new Set<string>();
  private wrote = false;

  /** After leaving the group cleanly: stops refreshing and removes the record (nothing left to evict). */
  async release(): Promise<void> {
    this.memberId = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.wrote) await this.opts.redis.del(this.key).catch(() => undefined);
  }
}
