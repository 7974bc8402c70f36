import { counter, gauge, histogram, LATENCY_BUCKETS_S } from '../../lib/metrics.ts';

/** The offers engine's metrics, `playpulse_offers_*`. */
export const offerMetrics = {
  decisions: counter('playpulse_offers_decisions_total', 'Rules considered for triggering events, by outcome', ['outcome', 'mode']),
  delivered: counter('playpulse_offers_delivered_total', 'Live offers made and routed to the player'),
  duplicates: counter('playpulse_offers_duplicate_decisions_total', 'Triggering events found already decided (redelivery or replay)'),
  rerouted: counter('playpulse_offers_rerouted_total', 'Pending offers of events found already decided, routed to the edge again (the process that made them may have died before routing them)'),
  retries: counter('playpulse_offers_decision_retries_total', 'Decisions re-read because the player script refused a stale verdict'),
  fallbacks: counter('playpulse_offers_decision_fallbacks_total', 'Players of a chunk decided again event by event: budget claimed short, write refused or found decided (a concurrent processor)', ['reason']),
  latency: histogram('playpulse_offers_decision_seconds', 'Time from the start of a chunk step to a triggering event recorded, Redis included', LATENCY_BUCKETS_S),
  responses: counter('playpulse_offers_responses_total', 'Offer responses recorded, by kind and result', ['kind', 'result']),
  spend: counter('playpulse_offers_spend_events_total', 'Spend events (revenue event, offer purchase) seen for lift, by result: attributed, outside_windows, duplicate, unusable', ['result']),
  jobs: counter('playpulse_offers_jobs_total', 'Lifecycle jobs run, by queue and result', ['queue', 'result']),
  decisionLogWritten: counter('playpulse_offers_decision_log_written_total', 'Decisions written to the decision stream (topic player-decisions)'),
  decisionLogDropped: counter('playpulse_offers_decision_log_dropped_total', 'Decisions not written to the decision stream (Kafka unavailable for too long)'),
};

/** How long a scrape waits for Redis before it serves the sizes read last. */
const SCRAPE_READ_TIMEOUT_MS = 1_000;

/**
 * Each running offers role's reader of today's segment sizes, with what it read last
 * (offers/admin/segments.ts `exposeSegmentSizes`).
 */
export const segmentSizeSources = new Set<{ read: () => Promise<ReadonlyMap<string, number>>; last: ReadonlyMap<string, number> }>();

gauge(
  'playpulse_offers_segment_players_today',
  'Players a decision found in each segment today (UTC day, approximate: a HyperLogLog per segment and day); read from Redis at scrape time',
  ['segment'],
  async function collect() {
    this.reset();
    for (const source of segmentSizeSources) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), SCRAPE_READ_TIMEOUT_MS)));
      // Redis away or slow: the scrape still answers, with the sizes read last.
      const read = await Promise.race([source.read().catch(() => null), timeout]);
      clearTimeout(timer);
      if (read) source.last = read;
      for (const [segment, players] of source.last) this.set({ segment }, players);
    }
  },
);
