/** What the decision path runs against: Redis, key prefix, routing, queues, log (decide.ts and attribution.ts share it). */
import type { Logger } from '../../lib/log.ts';
import type { RedisClient } from '../../lib/redis.ts';
import type { Offer } from '../../protocol/offer.ts';
import type { FollowUpJob, OfferQueues } from '../jobs/queues.ts';
import type { DecisionRecord } from './explain.ts';
import type { EngineCommands } from './scripts.ts';
import type { FailPointProbe } from '../../lib/failpoint.ts';
import type { Tracing } from '../../lib/tracing.ts';
import type { BanditAllocations } from './bandit-cache.ts';

/** Routes a made offer to the edge instances holding the player's sockets; resolves to how many. */
/** `presence`: the player's presence as the decide script read it after the inbox write (redis-ops.ts PlayerDecideResult); absent, the publisher reads it. */
export type PublishOffer = (playerId: string, offer: Offer, traceparent?: string, presence?: readonly string[]) => Promise<number>;

export interface EngineContext {
  readonly redis: RedisClient & EngineCommands;
  readonly keyPrefix: string;
  readonly publish: PublishOffer;
  /** Lifecycle queues; null where offers must not outlive the run (backtests, benchmarks). */
  readonly queues: OfferQueues | null;
  /** Without queues: where follow-ups go instead (a backtest runs them at their due time in the replay). */
  readonly followUps?: (job: FollowUpJob) => void;
  /** Where each recorded decision is appended in full (the decision stream); absent in backtests and benchmarks. */
  readonly decisionLog?: { add(player: string, decision: DecisionRecord, compact?: Buffer): void };
  /** The published policy's retention: how long a player's keys live after a write. */
  readonly retentionMs: () => number;
  readonly log: Logger;
  /** Test-only (PLAYPULSE_FAILPOINT=after-record:<n>): called once offers are recorded, before they are routed. */
  readonly failAfterRecord?: FailPointProbe | null;
  /** Test-only (PLAYPULSE_FAILPOINT=after-claim:<n>): called once budget units are claimed, before the player writes. */
  readonly failAfterClaim?: FailPointProbe | null;
  /** Current shares of bandit rules (bandit-cache.ts); absent: every experiment by weight. */
  readonly bandits?: BanditAllocations;
  /** Traces (lib/tracing.ts): null or absent, off. */
  readonly tracing?: Tracing | null;
}
