/**
 * The client's outbox: every event sent and not yet acked, in send order, each with the
 * `seq` it got when it was first sent. After a reconnect everything in it is sent again
 * with the same seq, and processors count an event resent with its stream and seq once as
 * long as its seq is within RESEND_WINDOW of the newest seq the stream has sent. So the
 * outbox never lets that span grow past the window: `add` refuses an event rather than
 * leave an older one unacked beyond it, and holds at most RESEND_WINDOW events. Pure.
 */
import type { WireEvent } from '../protocol/client-frames.ts';
import { MAX_SEQ, RESEND_WINDOW } from '../protocol/limits.ts';

export interface OutboxEntry {
  event: WireEvent;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface OutboxOptions {
  /** Most unacked events kept; clamped to 1..RESEND_WINDOW. */
  capacity: number;
  /** The seq of the first event added (to continue a persisted stream); default 1. */
  nextSeq?: number;
}

export class Outbox {
  private readonly entries = new Map<string, OutboxEntry>();
  readonly capacity: number;
  private next: number;

  constructor(opts: OutboxOptions) {
    if (!Number.isSafeInteger(opts.capacity) || opts.capacity < 1) throw new RangeError('outbox capacity must be a positive integer');
    const nextSeq = opts.nextSeq ?? 1;
    if (!Number.isSafeInteger(nextSeq) || nextSeq < 1 || nextSeq > MAX_SEQ) throw new RangeError('nextSeq must be an integer 1..2^53 - 1');
    this.capacity = Math.min(opts.capacity, RESEND_WINDOW);
    this.next = nextSeq;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The seq the next new event gets. */
  get nextSeq(): number {
    return this.next;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /**
   * Takes an event and gives it the next seq (an id already in the outbox keeps its seq and
   * both promises settle together). False when full — RESEND_WINDOW or `capacity` events
   * unacked, or the oldest unacked one would fall out of the window — or when the stream
   * has used every seq: the caller refuses the event instead.
   */
  add(entry: OutboxEntry): boolean {
    const existing = this.entries.get(entry.event.id);
    if (existing) {
      this.entries.set(entry.event.id, {
        event: { ...entry.event, seq: existing.event.seq as number },
        resolve: () => {
          existing.resolve();
          entry.resolve();
        },
        reject: (err) => {
          existing.reject(err);
          entry.reject(err);
        },
      });
      return true;
    }
    if (this.entries.size >= this.capacity || this.next > MAX_SEQ) return false;
    const oldest = this.entries.values().next().value;
    if (oldest && this.next - (oldest.event.seq as number) >= RESEND_WINDOW) return false;
    this.entries.set(entry.event.id, { ...entry, event: { ...entry.event, seq: this.next } });
    this.next += 1;
    return true;
  }

  /** Removes the acked ids and resolves their promises. */
  ack(ids: readonly string[]): void {
    for (const id of ids) {
      const entry = this.entries.get(id);
      if (!entry) continue;
      this.entries.delete(id);
      entry.resolve();
    }
  }

  /** Removes an event the edge refused for good (bad_event) and rejects its promise. */
  reject(id: string, err: Error): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    entry.reject(err);
  }

  get(id: string): WireEvent | undefined {
    return this.entries.get(id)?.event;
  }

  /** Every unacked event, oldest first, each with its seq. */
  events(): WireEvent[] {
    return [...this.entries.values()].map((e) => e.event);
  }

  rejectAll(err: Error): void {
    for (const entry of this.entries.values()) entry.reject(err);
    this.entries.clear();
  }
}
