import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { DurableProducer } from '../lib/kafka.ts';
import type { BundleSource } from '../designer/types.ts';
import type { AppliedEvent, Decider } from './decider-seam.ts';
import type { Logger } from '../lib/log.ts';
import type { EventRecord } from '../protocol/record.ts';
import { applyItems, type ApplyItem, type ApplyOptions, type ApplyOutcome } from './apply.ts';
import { decodeMessage, sendDeadLetters, type DeadLetter } from './dlq.ts';
import { processorMetrics as m } from './metrics.ts';
import { planFor, type ApplyPlan } from './plan.ts';
import { untilDone, type BatchControl, type RetryHooks } from './retry.ts';
import { DecideCoalescer } from './coalesce.ts';
import { DECIDE_ATTEMPTS_BEFORE_ISOLATION, isInfrastructureError, isolateDecisions, type FailedDecision } from './poison-decision.ts';
import type { ScriptClient } from './scripts.ts';
import { errorMessage } from '../lib/errors.ts';
import type { FailPoint } from '../lib/config.ts';
import { failPointProbe } from '../lib/failpoint.ts';
import { TRACEPARENT, type Tracing } from '../lib/tracing.ts';
import type { Span } from '@opentelemetry/api';

/**
 * One Kafka batch (one partition), in chunks of at most `chunkSize` messages. Per chunk:
 * decode; apply every event in one pipelined round trip; dead-letter the poison ones; hand
 * the applied events to the decider; only then resolve the chunk's last offset, heartbeat
 * and commit if due. A failing step (Redis or Kafka away, decider failing) is retried with
 * backoff while heartbeating, so nothing is skipped and nothing is committed early; only a
 * decision that keeps failing for reasons of its own is isolated and dead-lettered
 * (`decide_failed`, poison-decision.ts), never because a service is away. The
 * designer bundle is read once per batch: a newly published one applies from the next batch.
 */
export interface BatchDeps {
  readonly redis: ScriptClient;
  readonly bundles: BundleSource;
  readonly decider: Decider;
  readonly producer: Pick<DurableProducer, 'send'>;
  readonly deadLetterTopic: string;
  readonly apply: ApplyOptions;
  readonly chunkSize: number;
  readonly log: Logger;
  /** Told when a step starts failing and when it recovers (readiness). */
  readonly health: { failing(step: string, err: unknown): void; recovered(step: string): void };
  /** Test-only (PLAYPULSE_FAILPOINT): the process kills itself there; absent or null: never. */
  readonly failPoint?: FailPoint | null;
  /** Traces (lib/tracing.ts); absent or null: off. */
  readonly tracing?: Tracing | null;
  /** Cap of the backoff between retries of a failing step; default 5 s (processors/retry.ts). */
  readonly retryBackoffMaxMs?: number;
}

/**
 * Large enough to take a whole fetched batch of a partition (kafkajs hands at most
 * `maxBytesPerPartition` at once): the more events of one player a chunk holds, the fewer
 * script calls it needs.
 */
export const DEFAULT_CHUNK_SIZE = 10_000;

/**
 * Chunks of partitions handled at the same time are decided in one call up to this many
 * events (coalesce.ts): about one slice of the decider (offers/engine/decider.ts
 * TRIGGERS_PER_CALL), past which a call's own events share its round trips.
 */
const JOIN_UP_TO = 1_000;

export function createBatchHandler(deps: BatchDeps): (payload: EachBatchPayload) => Promise<void> {
  let lastPlan: ApplyPlan | null = null;
  // The chunks of partitions handled at the same time, decided in one call (first attempts only).
  const joined = new DecideCoalescer((events) => deps.decider.decideBatch(events), JOIN_UP_TO);
  const throttle = new LogThrottle(10_000);
  // Test-only (lib/failpoint.ts): null unless PLAYPULSE_FAILPOINT names the step.
  const failAfterApply = failPointProbe(deps.failPoint ?? null, 'after-apply', deps.log);
  const failAfterDecide = failPointProbe(deps.failPoint ?? null, 'after-decide', deps.log);

  const hooks = (step: string): RetryHooks => ({
    backoffMaxMs: deps.retryBackoffMaxMs,
    onFailure: (err, attempt) => {
      if (step === 'apply') m.redisRetries.inc();
      deps.health.failing(step, err);
      if (attempt === 0 || attempt % 10 === 0) deps.log.warn({ err: errorMessage(err), attempt, step }, 'batch step failed; retrying');
    },
    onRecovered: () => {
      deps.health.recovered(step);
      deps.log.info({ step }, 'batch step recovered');
    },
  });

  return async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
    const control: BatchControl = { heartbeat, isRunning, isStale };
    const plan = planFor(deps.bundles.current());
    if (plan !== lastPlan) {
      if (lastPlan) {
        m.bundleSwaps.inc();
        deps.log.info({ bundle: plan.bundleHash.slice(0, 12), properties: plan.properties.length }, 'properties reloaded');
      }
      lastPlan = plan;
    }
    const { topic, partition, messages } = batch;
    const setLag = (nextOffset: number) => m.lag.set({ topic, partition: String(partition) }, Math.max(0, Number(batch.highWatermark) - nextOffset));
    if (messages.length > 0) setLag(Number(batch.firstOffset()));
    for (let start = 0; start < messages.length; start += deps.chunkSize) {
      if (!isRunning() || isStale()) return;
      const chunk = messages.slice(start, start + deps.chunkSize);
      const items: ApplyItem[] = [];
      const letters: DeadLetter[] = [];
      const byOffset = new Map<string, KafkaMessage>();
      const now = Date.now();
      const tracing = deps.tracing ?? null;
      let traced = 0;
      for (const message of chunk) {
        const d = decodeMessage(message, now);
        if (d.ok) {
          // Off: one null check per record. On: a header lookup; only sampled records carry one.
          const trace = tracing === null ? undefined : tracing.extract(headerText(message.headers?.[TRACEPARENT]));
          if (trace) traced += 1;
          const records = d.records;
          for (let index = 0; index < records.length; index++) items.push({ record: records[index] as EventRecord, partition, offset: message.offset, index, trace });
          byOffset.set(message.offset, message);
          if (d.futureRecvAt !== undefined) reportFutureTime(deps, records[0] as EventRecord, d.futureRecvAt, partition, message.offset, throttle);
        } else {
          letters.push({ topic, partition, message, reason: d.reason, error: d.error });
        }
      }

      const t0 = performance.now();
      const applied = await untilDone(control, hooks('apply'), () => applyItems(deps.redis, plan, items, deps.apply));
      if (!applied.done) return;
      const outcome = applied.value;
      m.applyLatency.observe((performance.now() - t0) / 1000);
      for (const f of outcome.failed) {
        letters.push({ topic, partition, message: byOffset.get(f.item.offset) as KafkaMessage, reason: 'apply_failed', error: f.error.message, event: f.item.record.id });
      }
      report(deps, outcome, partition, throttle);
      failAfterApply?.(chunkPosition(partition, chunk));

      if (letters.length > 0) {
        const sent = await untilDone(control, hooks('dead-letter'), () => sendDeadLetters(deps.producer, deps.deadLetterTopic, letters));
        if (!sent.done) return;
        for (const l of letters) {
          m.deadLettered.inc({ reason: l.reason });
          deps.log.warn({ topic, partition, offset: l.message.offset, event: l.event, reason: l.reason, err: l.error }, 'event dead-lettered');
        }
      }

      if (outcome.applied.length > 0) {
        const t1 = performance.now();
        const spans = tracing !== null && traced > 0 ? traceApplied(tracing, outcome.applied, partition, t0) : null;
        const decided = await untilDone(control, hooks('decide'), decideStep(deps, joined, control, spans ? spans.events : (outcome.applied as readonly AppliedEvent[])));
        spans?.decide.forEach((span) => span.end());
        // null: the batch stopped being ours while isolating; nothing resolved.
        if (!decided.done || decided.value === null) return;
        const failedAlone = decided.value;
        m.decideLatency.observe((performance.now() - t1) / 1000);
        const poisoned: DeadLetter[] = failedAlone.map((f) => ({
          topic,
          partition,
          message: byOffset.get(f.event.offset) as KafkaMessage,
          reason: 'decide_failed',
          error: f.error,
          event: f.event.record.id,
        }));
        if (poisoned.length > 0) {
          const sent = await untilDone(control, hooks('dead-letter'), () => sendDeadLetters(deps.producer, deps.deadLetterTopic, poisoned));
          if (!sent.done) return;
          for (const [i, l] of poisoned.entries()) {
            const e = (failedAlone[i] as FailedDecision).event;
            m.deadLettered.inc({ reason: l.reason });
            deps.log.error(
              { code: 'PROC_DECISION_FAILED', topic, partition, offset: l.message.offset, reason: l.reason, player: e.record.player, event: e.record.id, type: e.record.type, err: l.error },
              'decision failed for this event alone; event dead-lettered, the rest of the chunk decided',
            );
          }
        }
      }

      failAfterDecide?.(chunkPosition(partition, chunk));
      resolveOffset((chunk[chunk.length - 1] as KafkaMessage).offset);
      setLag(Number((chunk[chunk.length - 1] as KafkaMessage).offset) + 1);
      m.batchSize.observe(items.length);
      await heartbeat();
      await commitOffsetsIfNecessary();
    }
  };
}

/**
 * The sampled events of a chunk (their record came with a traceparent): a `processor.apply`
 * span each over the chunk's apply write, then a `processor.decide` span each, open while the
 * chunk is decided; the event is handed to the decider with the decide span as its parent.
 */
function traceApplied(tracing: Tracing, applied: readonly AppliedEvent[], partition: number, applyStart: number): { events: AppliedEvent[]; decide: Span[] } {
  const decide: Span[] = [];
  const events = applied.map((e) => {
    if (!e.trace) return e;
    const attributes = { 'playpulse.player': e.record.player, 'playpulse.event': e.record.id, 'playpulse.partition': partition, 'playpulse.offset': e.offset, 'playpulse.duplicate': e.duplicate };
    const apply = tracing.start('processor.apply', e.trace, attributes, applyStart);
    apply.end();
    const span = tracing.start('processor.decide', tracing.contextOf(apply), attributes);
    decide.push(span);
    return { ...e, trace: tracing.contextOf(span) };
  });
  return { events, decide };
}

/** A Kafka header value as text (kafkajs hands Buffers, or arrays for repeated headers). */
function headerText(value: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  const one = Array.isArray(value) ? value[0] : value;
  return one === undefined ? undefined : typeof one === 'string' ? one : one.toString('latin1');
}

/** Where a chunk sits, for the fail point's line. */
function chunkPosition(partition: number, chunk: readonly KafkaMessage[]): string {
  return `partition ${partition}, offsets ${chunk[0]?.offset ?? '?'}..${chunk[chunk.length - 1]?.offset ?? '?'}`;
}

/**
 * The decide step of one chunk, as `untilDone` runs it. The normal path is one
 * `decideBatch` call for the whole chunk (its batch boundaries are the decider's), joined
 * with the chunks of other partitions that reach this step in the same turn (coalesce.ts);
 * after a failure the chunk is retried on its own, so a failure of another partition's
 * events costs this chunk one retry, never an isolation. After
 * DECIDE_ATTEMPTS_BEFORE_ISOLATION failures in a row that are not infrastructure errors,
 * the next attempt isolates the poison decisions (poison-decision.ts) and resolves with
 * them, once Redis has answered a PING before and after: an outage is retried, never
 * dead-lettered. An infrastructure error resets the count. Resolves null when the batch
 * stopped being ours during an isolation.
 */
function decideStep(deps: BatchDeps, joined: DecideCoalescer, control: BatchControl, events: readonly AppliedEvent[]): () => Promise<FailedDecision[] | null> {
  let failures = 0;
  let attempts = 0;
  return async () => {
    try {
      attempts += 1;
      if (attempts === 1) {
        // Batch boundary: the whole chunk, and the other partitions' of this turn, in one decideBatch call.
        await joined.decide(events);
        return [];
      }
      if (failures < DECIDE_ATTEMPTS_BEFORE_ISOLATION) {
        // The chunk alone; smaller calls only while isolating.
        await deps.decider.decideBatch(events);
        return [];
      }
      await deps.redis.ping();
      deps.log.warn({ events: events.length, attempts: failures }, 'decision keeps failing; deciding the chunk in parts to isolate the events it fails for');
      const failed = await isolateDecisions((part) => deps.decider.decideBatch(part), events, () => control.isRunning() && !control.isStale());
      if (failed && failed.length > 0) await deps.redis.ping();
      return failed;
    } catch (err) {
      failures = isInfrastructureError(err) ? 0 : failures + 1;
      throw err;
    }
  };
}

function report(deps: BatchDeps, outcome: ApplyOutcome, partition: number, throttle: LogThrottle): void {
  const fresh = outcome.applied.length - outcome.duplicatesByOffset - outcome.duplicatesById - outcome.duplicatesBySeq;
  if (fresh > 0) m.eventsApplied.inc({ partition: String(partition) }, fresh);
  if (outcome.duplicatesByOffset > 0) m.duplicates.inc({ reason: 'offset' }, outcome.duplicatesByOffset);
  if (outcome.duplicatesById > 0) m.duplicates.inc({ reason: 'event_id' }, outcome.duplicatesById);
  if (outcome.duplicatesBySeq > 0) m.duplicates.inc({ reason: 'stream_seq' }, outcome.duplicatesBySeq);
  for (const { item, errors } of outcome.fieldErrors) {
    for (const e of errors) {
      m.fieldTypeErrors.inc({ property: e.property });
      throttle.run(`field:${e.property}`, (suppressed) =>
        deps.log.warn(
          { code: 'PROC_FIELD_TYPE', property: e.property, field: e.path, expected: e.expected, got: e.got, player: item.record.player, event: item.record.id, suppressed },
          'event field has the wrong type; property not updated',
        ),
      );
    }
  }
  for (const { item, errors } of outcome.conditionErrors) {
    for (const e of errors) {
      m.conditionErrors.inc({ property: e.property });
      throttle.run(`when:${e.property}`, (suppressed) =>
        deps.log.warn({ property: e.property, err: e.error, player: item.record.player, event: item.record.id, suppressed }, 'property condition failed at run time; treated as false'),
      );
    }
  }
}

function reportFutureTime(deps: BatchDeps, record: EventRecord, recvAt: number, partition: number, offset: string, throttle: LogThrottle): void {
  m.futureRecvAt.inc();
  throttle.run('future-recv-at', (suppressed) =>
    deps.log.warn(
      { partition, offset, player: record.player, event: record.id, edge: record.edge, recvAt, appliedAt: record.recvAt, aheadMs: recvAt - record.recvAt, suppressed },
      'record recvAt is further in the future than the clock skew bound; applied at the processing time',
    ),
  );
}

/** At most one log line per key per interval, counting what it held back. */
class LogThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(private readonly intervalMs: number) {}

  run(key: string, log: (suppressed: number) => void): void {
    const now = Date.now();
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed += 1;
      return;
    }
    log(entry?.suppressed ?? 0);
    this.last.set(key, { at: now, suppressed: 0 });
  }
}
