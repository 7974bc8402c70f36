/** The edge's metrics, all `playpulse_edge_*`, on the one registry of lib/metrics.ts. */
import { LATENCY_BUCKETS_S, counter, gauge, histogram } from '../lib/metrics.ts';

export const edgeMetrics = {
  connections: gauge('playpulse_edge_connections', 'Open WebSocket connections'),
  upgrades: counter('playpulse_edge_upgrades_total', 'Upgrade requests by outcome (ok, 401, 400, draining)', ['outcome']),
  refused: counter('playpulse_edge_connections_refused_total', 'Connections closed right after the upgrade, by reason (draining, overloaded, player, address, edge)', ['reason']),
  closes: counter('playpulse_edge_closes_total', 'Connections closed, by close code', ['code']),
  framesIn: counter('playpulse_edge_frames_in_total', 'Frames received, by type (ev, evs, ping, text, bad, too_big)', ['type']),
  framesOut: counter('playpulse_edge_frames_out_total', 'Frames sent, by type (hello, ack, offer, pong, err)', ['type']),
  eventsIn: counter('playpulse_edge_events_received_total', 'Valid events received (including resent ids)'),
  eventsWithoutSeq: counter('playpulse_edge_events_without_seq_total', 'Events passed on to Kafka without a stream and seq (processors de-duplicate those by id over only the last ~96 events of the player)'),
  eventsDuplicate: counter('playpulse_edge_events_duplicate_total', 'Resent event ids answered without a second produce'),
  eventsProduced: counter('playpulse_edge_events_produced_total', 'Events acknowledged by Kafka'),
  recordsProduced: counter('playpulse_edge_records_produced_total', 'Kafka records acknowledged: one per client frame (protocol/record.ts, version 2)'),
  produceFailures: counter('playpulse_edge_produce_failures_total', 'Events whose produce failed or timed out'),
  ackLatency: histogram('playpulse_edge_ack_latency_seconds', 'Receive to ack sent, per frame (its one Kafka record)', LATENCY_BUCKETS_S),
  batchSize: histogram('playpulse_edge_produce_batch_events', 'Events per Kafka produce request', [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000]),
  batchBytes: histogram('playpulse_edge_produce_batch_bytes', 'Bytes per Kafka produce request', [256, 1024, 4096, 16384, 65536, 262144, 786432]),
  inflightBytes: gauge('playpulse_edge_inflight_bytes', 'Event bytes taken and not yet acked or refused'),
  errors: counter('playpulse_edge_errors_total', 'err frames sent, by wire code', ['code']),
  backpressureDrops: counter('playpulse_edge_backpressure_drops_total', 'Frames dropped at the backpressure limit (the socket is then closed)'),
  offersDelivered: counter('playpulse_edge_offers_delivered_total', 'Offers pushed to a socket, by source (live, inbox)', ['source']),
  offersSkipped: counter('playpulse_edge_offers_skipped_total', 'Offers not pushed, by reason (expired, duplicate, invalid)', ['reason']),
  offersPending: histogram('playpulse_edge_offers_pending_on_connect', 'Pending offers found in the inbox when a socket connects', [0, 1, 2, 3, 5, 10, 25, 50, 100]),
  presenceErrors: counter('playpulse_edge_presence_errors_total', 'Failed presence or inbox Redis calls'),
};
