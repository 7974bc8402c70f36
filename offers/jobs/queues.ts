import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Config } from '../../lib/config.ts';
import { PlayPulseError } from '../../lib/errors.ts';
import { offerKeys } from '../../lib/keys.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import type { Offer } from '../../protocol/offer.ts';

/**
 * The offer lifecycle queues (BullMQ). Keys live under `<keyPrefix>:bull`; each queue name
 * is one hash tag, so all keys of a queue share a Cluster slot. Job ids are derived from
 * the offer id (no `:`), so adding the same job twice — a redelivered batch, a replay — is
 * a no-op while the first is kept (completed jobs are kept for a week for this).
 */
export const QUEUE_NAMES = {
  expiry: '{offer-expiry}',
  followUp: '{offer-followup}',
  fulfilment: '{offer-fulfilment}',
} as const;

const KEEP_COMPLETED = { age: 7 * 24 * 3600, count: 100_000 };
const KEEP_FAILED = { age: 30 * 24 * 3600 };

/** An offer expires: take it out of the pending inbox, record `expired`. Runs at expiresAt, never before. */
export interface ExpiryJob {
  readonly playerId: string;
  readonly offerId: string;
  readonly expiresAt: number;
}

/** A follow-up is due: unless the first offer got `unless`, decide the follow-up rule for the player. */
export interface FollowUpJob {
  readonly playerId: string;
  readonly offerId: string;
  readonly ruleId: string;
  readonly followUpRule: string;
  readonly unless: string;
  readonly dueAt: number;
  /** The event that triggered the first offer: the follow-up condition sees it as `event`. */
  readonly event: { readonly id: string; readonly type: string; readonly ts: number; readonly data: Record<string, unknown> };
}

/** A purchase to fulfil: POST to the fulfilment webhook (if any), then record the grant once. The ledger record supplies the rest. */
export interface FulfilmentJob {
  readonly playerId: string;
  readonly offerId: string;
  readonly purchasedAt: number;
}

export interface OfferQueueOptions {
  /** Fulfilment attempts before the job fails (default 10). */
  readonly fulfilmentAttempts?: number;
  /** First fulfilment retry delay; doubles each attempt (default 2 s). */
  readonly fulfilmentBackoffMs?: number;
}

export interface OfferQueues {
  readonly expiry: Queue<ExpiryJob>;
  readonly followUp: Queue<FollowUpJob>;
  readonly fulfilment: Queue<FulfilmentJob>;
  /** The connection the queues share (workers duplicate it for their blocking reads). */
  readonly connection: RedisClient;
  scheduleExpiry(playerId: string, offer: Offer): Promise<void>;
  scheduleFollowUp(job: FollowUpJob): Promise<void>;
  /** The expiries of many offers in one `addBulk` (one MULTI): a chunk's offers. */
  scheduleExpiries(offers: readonly { readonly playerId: string; readonly offer: Offer }[]): Promise<void>;
  /** Many follow-ups in one `addBulk`. */
  scheduleFollowUps(jobs: readonly FollowUpJob[]): Promise<void>;
  scheduleFulfilment(job: FulfilmentJob): Promise<void>;
  close(): Promise<void>;
}

export const jobIds = {
  expiry: (offerId: string) => `exp-${offerId}`,
  followUp: (offerId: string) => `fu-${offerId}`,
  fulfilment: (offerId: string) => `ful-${offerId}`,
};

const delayUntil = (at: number) => Math.max(0, at - Date.now());

/** Opens the three queues on a connection of their own. */
export function createOfferQueues(config: Config, options: OfferQueueOptions = {}): OfferQueues {
  if (!config.redisUrl) throw new PlayPulseError('CONFIG_INVALID', 'REDIS_URL is not set: the offer queues need Redis');
  const connection = createRedis(config.redisUrl, 'offer-queues');
  connection.on('error', () => undefined);
  const opts = { connection: connection as unknown as ConnectionOptions, prefix: offerKeys(config.keyPrefix).bullPrefix };
  const defaults: JobsOptions = { removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED };
  const expiry = new Queue<ExpiryJob>(QUEUE_NAMES.expiry, { ...opts, defaultJobOptions: { ...defaults, attempts: 20, backoff: { type: 'exponential', delay: 1_000 } } });
  const followUp = new Queue<FollowUpJob>(QUEUE_NAMES.followUp, { ...opts, defaultJobOptions: { ...defaults, attempts: 20, backoff: { type: 'exponential', delay: 1_000 } } });
  const fulfilment = new Queue<FulfilmentJob>(QUEUE_NAMES.fulfilment, {
    ...opts,
    defaultJobOptions: {
      ...defaults,
      attempts: options.fulfilmentAttempts ?? 10,
      backoff: { type: 'exponential', delay: options.fulfilmentBackoffMs ?? 2_000 },
    },
  });
  for (const q of [expiry, followUp, fulfilment]) q.on('error', () => undefined);

  const expiryJob = (playerId: string, offer: Offer) => ({
    name: 'expire',
    data: { playerId, offerId: offer.id, expiresAt: offer.expiresAt },
    opts: { jobId: jobIds.expiry(offer.id), delay: delayUntil(offer.expiresAt) },
  });
  const followUpJob = (job: FollowUpJob) => ({ name: 'follow-up', data: job, opts: { jobId: jobIds.followUp(job.offerId), delay: delayUntil(job.dueAt) } });

  return {
    expiry,
    followUp,
    fulfilment,
    connection,
    async scheduleExpiry(playerId, offer) {
      const j = expiryJob(playerId, offer);
      await expiry.add(j.name, j.data, j.opts);
    },
    async scheduleFollowUp(job) {
      const j = followUpJob(job);
      await followUp.add(j.name, j.data, j.opts);
    },
    async scheduleExpiries(offers) {
      if (offers.length > 0) await expiry.addBulk(offers.map((o) => expiryJob(o.playerId, o.offer)));
    },
    async scheduleFollowUps(jobs) {
      if (jobs.length > 0) await followUp.addBulk(jobs.map(followUpJob));
    },
    async scheduleFulfilment(job) {
      await fulfilment.add('fulfil', job, { jobId: jobIds.fulfilment(job.offerId) });
    },
    async close() {
      await Promise.all([expiry.close(), followUp.close(), fulfilment.close()]);
      connection.disconnect();
    },
  };
}
