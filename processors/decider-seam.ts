import type { Context } from '@opentelemetry/api';
import type { EventRecord } from '../protocol/record.ts';

/** A player's state as the rules see it: built-ins plus designer properties. */
export interface PlayerState {
  readonly id: string;
  readonly first_seen: number;
  readonly last_seen: number;
  readonly events_total: number;
  readonly offers_today: number;
  readonly last_purchase_at: number | null;
  /** Designer properties by name (windowed ones already summed over their window). */
  readonly props: Readonly<Record<string, number | string | boolean | null>>;
}

/** One event as a processor applied it, handed to the offers engine with the fresh state. */
export interface AppliedEvent {
  readonly record: EventRecord;
  readonly partition: number;
  /** The Kafka offset of the event's record. */
  readonly offset: string;
  /** The event's place in its record (0 for a version-1 record); `eventPosition` (protocol/record.ts) makes the two one position. */
  readonly index: number;
  readonly state: PlayerState;
  /** True when the apply script found the event already applied (redelivery or a client resend). */
  readonly duplicate: boolean;
  /**
   * True for a client resend (the same stream seq, or event id, applied before at an earlier
   * offset): the earlier copy is the one decided, so the offers engine skips it. A Kafka
   * redelivery (same offset) is not a resend: it is decided again, and the decided-offset
   * markers make that a no-op if it was decided before.
   */
  readonly resent: boolean;
  /** A traced event (lib/tracing.ts): the span its decision and offer continue. */
  readonly trace?: Context | undefined;
}

/**
 * The offers engine as processors call it, once per applied batch, before they commit the
 * batch's offsets. Must be idempotent: a redelivered batch is handed over again.
 */
export interface Decider {
  decideBatch(events: readonly AppliedEvent[]): Promise<void>;
}
