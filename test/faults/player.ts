/**
 * A simulated game client with an outbox, as docs/contract.md §3 asks of real clients: it sends
 * its events in `evs` frames with at most `window` unacked events in flight, forgets an
 * event only when it is acked, and after losing its socket reconnects (to the next URL of
 * its list) and resends every unacked event. Like the SDK it is one stream: it connects with
 * `?stream=` and sends event i of its list with seq i + 1, on every resend too. Everything it
 * did is counted.
 */
import { randomUUID } from 'node:crypto';
import { TestClient, type WireEvent } from './client.ts';
import { sleep } from '../../lib/time.ts';

export interface PlayerStats {
  framesSent: number;
  eventsSent: number;
  resent: number;
  reconnects: number;
  unavailable: number;
  closeCodes: number[];
}

export class SimulatedPlayer {
  readonly stats: PlayerStats = { framesSent: 0, eventsSent: 0, resent: 0, reconnects: 0, unavailable: 0, closeCodes: [] };
  /** Every id the edge acked, over all sockets. */
  readonly acked = new Set<string>();
  /** `unavailable` refusals by their message (which limit or outage refused the event). */
  readonly refusals = new Map<string, number>();
  private client: TestClient | null = null;
  private urlIndex = 0;
  private next = 0;
  private stopped = false;
  /** This player's stream id. */
  readonly stream = randomUUID().replaceAll('-', '').slice(0, 16);
  /** `events` as sent: each with its seq. */
  private readonly wire: readonly WireEvent[];

  constructor(
    readonly player: string,
    private readonly token: string,
    private readonly urls: readonly string[],
    readonly events: readonly WireEvent[],
    /**
     * `eagerResend`: wake on every `unavailable` and resend the refused events (after
     * `pauseMs`), as an impatient client does; otherwise refusals are resent when the
     * window frees or every 5 s.
     */
    private readonly opts: { window?: number; batch?: number; pauseMs?: number; eagerResend?: boolean } = {},
  ) {
    this.wire = events.map((e, i) => ({ ...e, seq: i + 1 }));
  }

  get done(): boolean {
    return this.acked.size === this.events.length;
  }

  /** Sends everything until all is acked; rides out socket losses by reconnecting. */
  async run(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.done && !this.stopped) {
      if (Date.now() > deadline) throw new Error(`${this.player}: ${this.acked.size}/${this.events.length} acked after ${timeoutMs} ms; ${this.describe()}`);
      const c = await this.connected();
      if (!c) continue;
      this.pump(c);
      const refused = () => this.opts.eagerResend === true && c.errors.some((e) => e.code === 'unavailable');
      await c.until(() => this.done || !c.open || this.canSend(c) || refused(), 5_000).catch(() => undefined);
      if (this.opts.pauseMs) await sleep(this.opts.pauseMs);
    }
    this.client?.close();
  }

  stop(): void {
    this.stopped = true;
    this.client?.terminate();
  }

  /** What a stuck player looked like, for the timeout message. */
  private describe(): string {
    const c = this.client;
    const socket = c ? `socket ${c.open ? 'open' : `closed (${c.closeCode ?? '?'})`}, ${this.inFlight(c)} in flight, errors ${[...new Set(c.errors.map((e) => e.code))].join('/') || 'none'}` : 'no socket';
    const st = this.stats;
    return `${socket}; sent ${st.eventsSent} (resent ${st.resent}, unavailable ${st.unavailable}), reconnects ${st.reconnects}, close codes ${st.closeCodes.join(',') || 'none'}`;
  }

  private inFlight(c: TestClient): number {
    let n = 0;
    for (let i = 0; i < this.next; i++) if (!c.acked.has((this.events[i] as WireEvent).id) && !this.acked.has((this.events[i] as WireEvent).id)) n += 1;
    return n;
  }

  private canSend(c: TestClient): boolean {
    this.absorb(c);
    return this.next < this.events.length && this.inFlight(c) < (this.opts.window ?? 20);
  }

  private absorb(c: TestClient): void {
    for (const id of c.acked) this.acked.add(id);
  }

  private pump(c: TestClient): void {
    this.absorb(c);
    const batch = this.opts.batch ?? 5;
    while (c.open && this.canSend(c)) {
      const slice = this.wire.slice(this.next, Math.min(this.next + batch, this.wire.length));
      c.sendEvents(slice);
      this.next += slice.length;
      this.stats.framesSent += 1;
      this.stats.eventsSent += slice.length;
    }
  }

  /** The open socket, or a new one (resending the outbox); null when the attempt failed. */
  private async connected(): Promise<TestClient | null> {
    const current = this.client;
    if (current?.open) {
      this.absorb(current);
      if (current.errors.some((e) => e.code === 'unavailable')) this.resendRefused(current);
      return current;
    }
    if (current) {
      this.absorb(current);
      this.stats.closeCodes.push(current.closeCode ?? -1);
      this.urlIndex = (this.urlIndex + 1) % this.urls.length;
      this.stats.reconnects += 1;
    }
    try {
      const c = await TestClient.connect(this.urls[this.urlIndex] as string, this.token, { timeoutMs: 5_000, stream: this.stream });
      this.client = c;
      const outbox = this.wire.slice(0, this.next).filter((e) => !this.acked.has(e.id));
      for (let i = 0; i < outbox.length; i += 50) {
        c.sendEvents(outbox.slice(i, i + 50));
        this.stats.framesSent += 1;
        this.stats.eventsSent += Math.min(50, outbox.length - i);
      }
      this.stats.resent += outbox.length;
      return c;
    } catch {
      this.urlIndex = (this.urlIndex + 1) % this.urls.length;
      await sleep(200 + Math.random() * 300);
      return null;
    }
  }

  /**
   * Events refused with `unavailable` on an open socket were never acked: resend them (all
   * unacked ones when the error names no event).
   */
  private resendRefused(c: TestClient): void {
    const refusals = c.errors.filter((e) => e.code === 'unavailable');
    for (const e of refusals) this.refusals.set(e.message, (this.refusals.get(e.message) ?? 0) + 1);
    c.errors.splice(0, c.errors.length, ...c.errors.filter((e) => e.code !== 'unavailable'));
    const named = new Set(refusals.filter((e) => e.id !== undefined).map((e) => e.id as string));
    const all = refusals.some((e) => e.id === undefined);
    const again = this.wire.slice(0, this.next).filter((e) => !this.acked.has(e.id) && !c.acked.has(e.id) && (all || named.has(e.id)));
    for (let i = 0; i < again.length; i += 50) {
      c.sendEvents(again.slice(i, i + 50));
      this.stats.framesSent += 1;
      this.stats.eventsSent += Math.min(50, again.length - i);
    }
    this.stats.resent += again.length;
    this.stats.unavailable += refusals.length;
  }
}
