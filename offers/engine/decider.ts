import type { Config } from '../../lib/config.ts';
import { createLogger } from '../../lib/log.ts';
import type { RedisClient } from '../../lib/redis.ts';
import type { Bundle, BundleSource } from '../../designer/types.ts';
import { createOfferQueues, type FollowUpJob, type OfferQueues } from '../jobs/queues.ts';
import { attributeRevenueEvent } from './attribution.ts';
import { decideEvent, type EngineContext, type PublishOffer } from './decide.ts';
import type { DecisionRecord } from './explain.ts';
import { conditionInput } from './input.ts';
import { handleResponse } from './responses.ts';
import { withEngineScripts } from './scripts.ts';
import type { DecisionLog } from './decision-log.ts';
import { routeOffer } from './offer-routing.ts';
import type { AppliedEvent, Decider } from '../../processors/decider-seam.ts';

export interface DeciderDeps {
  readonly config: Config;
  readonly redis: RedisClient;
  readonly bundles: BundleSource;
  /** Lifecycle queues; when absent the decider opens its own and closes them in close(); null: no lifecycle jobs. */
  readonly queues?: OfferQueues | null;
  /** Offer routing to the edge; defaults to the edge's publishOffer. */
  readonly publish?: PublishOffer;
  /** Players decided concurrently within a batch (each player's events stay in order). */
  readonly concurrency?: number;
  /** Called with each decision recorded (not for an event decided before); backtests count them. */
  readonly onDecision?: (playerId: string, record: DecisionRecord) => void;
  /** With `queues: null`: where follow-ups go instead of the follow-up queue (backtests). */
  readonly followUps?: (job: FollowUpJob) => void;
  /** The decision stream every recorded decision is appended to; absent: none (backtests, benchmarks, tests). */
  readonly decisionLog?: DecisionLog;
}

export type ClosableDecider = Decider & { close(): Promise<void>; readonly context: EngineContext };

/**
 * The offers engine as processors call it. `decideBatch` handles, per applied event in the
 * player's order: the offer responses (offer.shown/accepted/declined/purchased), the spend
 * of the policy's revenue event (attribution.ts), then the rules triggered by the event
 * type. Players run concurrently; a batch resolves only when every decision is recorded, and rejects on a Redis failure (the processor then does not
 * commit, and the redelivered batch decides nothing twice).
 */
export function createDecider(deps: DeciderDeps): ClosableDecider {
  const redis = withEngineScripts(deps.redis);
  const ownQueues = deps.queues === undefined;
  const queues = deps.queues === undefined ? createOfferQueues(deps.config) : deps.queues;
  const log = createLogger('offers-decider');
  const context: EngineContext = {
    redis,
    keyPrefix: deps.config.keyPrefix,
    publish: deps.publish ?? ((playerId, offer) => routeOffer(deps.redis, deps.config.keyPrefix, playerId, offer)),
    queues,
    log,
    retentionMs: () => deps.bundles.current().policy.retentionMs,
    ...(deps.followUps ? { followUps: deps.followUps } : {}),
    ...(deps.decisionLog ? { decisionLog: deps.decisionLog } : {}),
  };
  const concurrency = Math.max(1, deps.concurrency ?? 64);

  async function decidePlayer(bundle: Bundle, events: readonly AppliedEvent[]): Promise<void> {
    for (const e of events) {
      // A client resend: its first copy (an earlier offset) is the one decided and attributed.
      if (e.resent) continue;
      const r = e.record;
      const position = { partition: e.partition, offset: e.offset };
      await handleResponse(context, r, bundle.policy);
      if (r.type === bundle.policy.revenue?.event) await attributeRevenueEvent(context, bundle.policy, r, position);
      const rules = bundle.rulesByEvent.get(r.type);
      if (!rules || rules.length === 0) continue;
      const outcome = await decideEvent(context, {
        playerId: r.player,
        eventId: r.id,
        eventType: r.type,
        at: r.recvAt,
        input: conditionInput(r, e.state),
        rules,
        bundle,
        position,
      });
      if (outcome.status === 'decided') deps.onDecision?.(r.player, outcome.record);
    }
  }

  return {
    context,
    async decideBatch(events) {
      if (events.length === 0) return;
      const bundle = deps.bundles.current();
      const byPlayer = new Map<string, AppliedEvent[]>();
      for (const e of events) {
        const list = byPlayer.get(e.record.player);
        if (list) list.push(e);
        else byPlayer.set(e.record.player, [e]);
      }
      const groups = [...byPlayer.values()];
      let next = 0;
      const lane = async () => {
        while (next < groups.length) {
          const g = groups[next++];
          if (g) await decidePlayer(bundle, g);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, groups.length) }, lane));
    },
    async close() {
      if (ownQueues && queues) await queues.close();
    },
  };
}
