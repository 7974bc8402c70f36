import { counter, gauge, histogram, LATENCY_BUCKETS_S } from '../lib/metrics.ts';
import { MAX_FUTURE_RECV_AT_MS } from '../protocol/limits.ts';

/** The processors' metrics, `playpulse_processor_*` (docs/processors.md lists them). */
export const processorMetrics = {
  groupJoins: counter('playpulse_processor_group_joins_total', 'Times this process joined the consumer group (its first join, then one per rebalance it took part in)'),
  eventsApplied: counter('playpulse_processor_events_applied_total', 'Events applied to player state (rate() gives events/s)', ['partition']),
  duplicates: counter('playpulse_processor_duplicates_skipped_total', 'Events found already applied: reason offset (Kafka redelivery), stream_seq or event_id (client resend)', ['reason']),
  batchSize: histogram('playpulse_processor_batch_size', 'Events per applied chunk of a Kafka batch', [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000]),
  applyLatency: histogram('playpulse_processor_apply_seconds', 'Time to apply one chunk in Redis (one pipelined round trip)', LATENCY_BUCKETS_S),
  decideLatency: histogram('playpulse_processor_decide_seconds', 'Time the offers decider took for one chunk', LATENCY_BUCKETS_S),
  lag: gauge('playpulse_processor_consumer_lag', 'Messages of the partition not yet applied: from the batch in hand (updated at its start and after each chunk) to its high watermark', ['topic', 'partition']),
  deadLettered: counter('playpulse_processor_dead_letters_total', 'Events sent to the dead-letter topic', ['reason']),
  fieldTypeErrors: counter('playpulse_processor_field_type_errors_total', 'Property fields of the wrong type (property skipped for that event)', ['property']),
  conditionErrors: counter('playpulse_processor_condition_errors_total', 'Property `when` conditions that failed at run time (treated as false)', ['property']),
  futureRecvAt: counter('playpulse_processor_future_recv_at_total', `Events whose recvAt was further ahead of the processing clock than the skew bound (${MAX_FUTURE_RECV_AT_MS / 60_000} min); applied at the processing time instead`),
  redisRetries: counter('playpulse_processor_redis_retries_total', 'Chunks retried because Redis could not apply them'),
  consumerRestarts: counter('playpulse_processor_consumer_restarts_total', 'Consumer restarts after a crash kafkajs did not recover from'),
  bundleSwaps: counter('playpulse_processor_bundle_swaps_total', 'Batches that started on a newer designer bundle than the previous batch'),
};
