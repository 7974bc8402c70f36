import { counter, histogram, LATENCY_BUCKETS_S } from '../../lib/metrics.ts';

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
