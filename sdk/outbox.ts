/**
 * The client's outbox: every event sent and not yet acked, in send order. After a
 * reconnect everything in it is sent again (the edge acks a resent id again and processors
 * de-duplicate by id, so a resend is harmless). Pure.
 */
import type { WireEvent } from '../protocol/client-frames.ts';

export interface OutboxEntry {
  event: WireEvent;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class Outbox {
  private readonly entries = new Map<string, OutboxEntry>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** False when full: the caller refuses the event instead of growing without bound. */
  add(entry: OutboxEntry): boolean {
    if (this.entries.size >= this.capacity && !this.entries.has(entry.event.id)) return false;
    this.entries.set(entry.event.id, entry);
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

  events(): WireEvent[] {
    return [...this.entries.values()].map((e) => e.event);
  }

  rejectAll(err: Error): void {
    for (const entry of this.entries.values()) entry.reject(err);
    this.entries.clear();
  }
}
