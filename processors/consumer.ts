import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from '../lib/log.ts';
import type { ProcessorSlot } from './evict.ts';
import { processorMetrics as m } from './metrics.ts';
import { backoffMs } from './retry.ts';
import { sleep } from '../lib/time.ts';


/**
 * Keeps one kafkajs consumer of the events topic alive. kafkajs restarts itself after a
 * retriable crash; after any other crash this supervisor builds a fresh consumer, with
 * backoff, and gives up (calls `onFatal`, which exits the process by default) only after
 * `maxRestarts` consecutive failures — so a process is either consuming, recovering (and
 * not ready), or gone; never alive and idle.
 *
 * Failover timing (docs/operations.md "Failover"): the session timeout is how long the
 * partitions of a member that died without leaving stay unconsumed; the heartbeat interval
 * bounds how late the other members learn of a rebalance. `stop()` leaves the group
 * (kafkajs sends LeaveGroup on disconnect), so a drained process hands its partitions over
 * at once. Each step is logged with its time: connecting, joined (with the partitions),
 * the first batch applied since joining, left.
 */
export interface SupervisorOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly groupId: string;
  readonly concurrency: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly eachBatch: (payload: EachBatchPayload) => Promise<void>;
  readonly log: Logger;
  readonly maxRestarts: number;
  readonly onFatal: (err: Error) => void;
  /**
   * This process's slot (processors/evict.ts): before the first join a dead predecessor
   * recorded there is sent LeaveGroup, so the join need not wait its session; each join
   * records the member id. Absent: no eviction.
   */
  readonly slot?: ProcessorSlot;
}

export class ConsumerSupervisor {
  private consumer: Consumer | null = null;
  private joined = false;
  private stopping = false;
  private restarting: Promise<void> | null = null;
  private failures = 0;
  /** When the current consumer joined, until its first batch after that join is applied. */
  private joinedAt: number | null = null;
  private evicted = false;

  constructor(private readonly opts: SupervisorOptions) {}

  /** True while the consumer is a member of the group with partitions to consume. */
  get ready(): boolean {
    return this.joined && !this.stopping;
  }

  async start(): Promise<void> {
    const o = this.opts;
    const startedAt = Date.now();
    o.log.info({ groupId: o.groupId, sessionTimeoutMs: o.sessionTimeoutMs, heartbeatIntervalMs: o.heartbeatIntervalMs, slot: o.slot?.name ?? null }, 'consumer connecting');
    if (o.slot && !this.evicted) {
      this.evicted = true;
      await o.slot.evictPrevious(o.kafka);
    }
    const consumer = o.kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      rebalanceTimeout: 60_000,
      heartbeatInterval: o.heartbeatIntervalMs,
      maxWaitTimeInMs: 250,
      maxBytesPerPartition: 2 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (this.consumer !== consumer) return;
      this.joined = true;
      this.failures = 0;
      this.joinedAt = Date.now();
      m.groupJoins.inc();
      o.slot?.claim(payload.memberId);
      o.log.info(
        { groupId: payload.groupId, memberId: payload.memberId, isLeader: payload.isLeader, assignment: payload.memberAssignment, joinMs: payload.duration, sinceStartMs: this.joinedAt - startedAt },
        'joined consumer group',
      );
    });
    consumer.on(consumer.events.REBALANCING, ({ payload }) => {
      if (this.consumer !== consumer) return;
      o.log.info({ groupId: payload.groupId, memberId: payload.memberId }, 'consumer group rebalancing');
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (this.consumer !== consumer) return;
      this.joined = false;
      o.log.error({ err: payload.error.message, restart: payload.restart }, 'consumer crashed');
      if (!payload.restart && !this.stopping) void this.restart(payload.error);
    });
    consumer.on(consumer.events.STOP, () => {
      if (this.consumer === consumer) this.joined = false;
    });
    await consumer.connect();
    await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    await consumer.run({ eachBatchAutoResolve: false, partitionsConsumedConcurrently: o.concurrency, eachBatch: (payload) => this.eachBatch(consumer, payload) });
  }

  private async eachBatch(consumer: Consumer, payload: EachBatchPayload): Promise<void> {
    await this.opts.eachBatch(payload);
    const joinedAt = this.joinedAt;
    if (joinedAt !== null && this.consumer === consumer && payload.batch.messages.length > 0 && payload.isRunning() && !payload.isStale()) {
      this.joinedAt = null;
      this.opts.log.info({ partition: payload.batch.partition, messages: payload.batch.messages.length, sinceJoinMs: Date.now() - joinedAt }, 'first batch applied since joining');
    }
  }

  /** Replaces the consumer after a crash kafkajs does not recover from itself. */
  restart(cause: Error): Promise<void> {
    this.restarting ??= (async () => {
      let last = cause;
      while (!this.stopping) {
        if (this.failures >= this.opts.maxRestarts) {
          this.opts.log.fatal({ err: last.message, failures: this.failures }, 'consumer cannot be restarted; giving up');
          this.opts.onFatal(last);
          return;
        }
        await sleep(backoffMs(this.failures + 3));
        this.failures += 1;
        m.consumerRestarts.inc();
        const old = this.consumer;
        this.consumer = null;
        await old?.disconnect().catch(() => undefined);
        if (this.stopping) return;
        try {
          await this.start();
          this.opts.log.info({ attempt: this.failures }, 'consumer restarted');
          return;
        } catch (err) {
          // programmer error: wraps a non-Error throw so the log always has a message
          last = err instanceof Error ? err : new Error(String(err));
          this.opts.log.error({ err: last.message, attempt: this.failures }, 'consumer restart failed');
        }
      }
    })().finally(() => {
      this.restarting = null;
    });
    return this.restarting;
  }

  /**
   * Stops consuming and leaves the group: the batch in progress finishes its current chunk
   * (or gives up unresolved), what it applied is committed, then kafkajs sends LeaveGroup, so
   * the others take the partitions over at their next heartbeat instead of after a session
   * timeout.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.joined = false;
    await this.restarting;
    const consumer = this.consumer;
    if (!consumer) return;
    const t0 = Date.now();
    await consumer.disconnect();
    this.consumer = null;
    await this.opts.slot?.release();
    this.opts.log.info({ groupId: this.opts.groupId, ms: Date.now() - t0 }, 'left consumer group');
  }
}
