/**
 * What the harness asks of a load-generator process, and what comes back. The protocol over
 * IPC: harness → `job`; generator → `ready` (sockets connected); harness → `go`; generator →
 * `result`. A generator exits on its own after `result` or when the harness goes away.
 */
import type { IngestScenario, OffersScenario } from '../../scenarios/index.ts';

interface JobBase {
  readonly url: string;
  readonly secret: string;
  readonly runId: string;
  /** Player ids `<runId>-<role>-<n>` for n in [playerFrom, playerFrom + players). */
  readonly role: string;
  readonly playerFrom: number;
  readonly players: number;
  /** Source address for this generator's sockets (spreads ephemeral ports over 127.x addresses). */
  readonly localAddress: string;
  readonly seed: number;
}

export interface IngestJob extends JobBase {
  readonly kind: 'ingest';
  readonly scenario: Pick<IngestScenario, 'batchSize' | 'payloadBytes' | 'inflightBatches' | 'frameEveryMs' | 'batchSizeMax'>;
  /** This generator's share of the offered rate; 0 = closed loop. */
  readonly ratePerSec: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface ComebackJob extends JobBase {
  readonly kind: 'comeback';
  readonly scenario: Pick<OffersScenario, 'lossesToTrigger' | 'matchGapMs' | 'offerTimeoutMs' | 'ruleId'>;
  readonly sequencesPerSec: number;
  /**
   * The first sequence starts this long after `go`: the background ingest's warm-up, so
   * event → offer is measured over the same window as the background's acks (its ramp, the
   * first events of its players and the generators' own start left out).
   */
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface IdleJob extends JobBase {
  readonly kind: 'idle';
  readonly connectRatePerSec: number;
}

export type Job = IngestJob | ComebackJob | IdleJob;

export interface Ready {
  readonly type: 'ready';
  readonly connected: number;
  readonly failed: number;
  readonly connectMs: number;
  readonly failures: Record<string, number>;
}

export interface JobResult {
  readonly type: 'result';
  readonly kind: Job['kind'];
  /** Events sent / acked inside the measured window (after warm-up). */
  readonly sent: number;
  readonly acked: number;
  readonly measuredMs: number;
  /** Events sent over the whole run and never acked nor refused by the end of the drain. */
  readonly unacked: number;
  readonly errors: Record<string, number>;
  readonly unexpectedCloses: number;
  /** HdrHistogram (µs), compressed base64: ack latency per event in the measured window. */
  readonly ackHist: string;
  /** Event → offer latency per triggering event (comeback jobs). */
  readonly offerHist: string;
  readonly sequences: number;
  readonly offers: number;
  /** Acked events per 1 s bucket from `go`. */
  readonly timeline: number[];
  readonly framesSent: number;
  readonly bytesSent: number;
}

export type FromGenerator = Ready | JobResult | { readonly type: 'error'; readonly message: string };
export type ToGenerator = { readonly type: 'job'; readonly job: Job } | { readonly type: 'go' } | { readonly type: 'stop' };
