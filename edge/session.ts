/**
 * One WebSocket connection of a player: from `open` to `close`. Owns the connection's rate
 * limit, its in-flight events (id -> item until Kafka settles it), the ids already acked
 * (a resent id is acked again without a second produce), the offers already pushed, and
 * the token-expiry timer. Never touches the socket after `close`.
 */
import { performance } from 'node:perf_hooks';
import { SpanStatusCode, type Span } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'uWebSockets.js';
import type { Config } from '../lib/config.ts';
import type { WireErrorCode } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { TRACEPARENT, type Tracing } from '../lib/tracing.ts';
import type { BundleSource } from '../designer/types.ts';
import { parseClientFrame, type WireEvent } from '../protocol/client-frames.ts';
import { CLOSE, CLOSE_REASON } from '../protocol/close-codes.ts';
import { decodeFrame, encodeFrame } from '../protocol/codec.ts';
import type { Offer } from '../protocol/offer.ts';
import { encodeFrameRecord, frameRecordHeaders, RECORD_VERSION, type FrameRecord } from '../protocol/record.ts';
import { ackFrame, errFrame, helloFrame, offerFrame, pongFrame, type ServerFrame } from '../protocol/server-frames.ts';
import { validateEvent } from '../protocol/validate-event.ts';
import { BoundedSet } from './bounded-set.ts';
import { edgeMetrics } from './metrics.ts';
import type { EventProducer, ProduceItem, ProduceSink } from './producer.ts';
import { ABUSE_LIMIT, ABUSE_WINDOW_MS, AbuseMeter, TokenBucket } from './token-bucket.ts';

/** uWS per-socket user data: set at upgrade, `session` attached at open. */
export interface UserData {
  player: string;
  expMs: number;
  /** The upgrade's `?stream=`, checked; undefined when none was given. */
  stream: string | undefined;
  session: Session | null;
  /** The peer address, read at open only when the per-address cap is on (edge/caps.ts). */
  address?: string | null;
}

export interface SessionContext {
  readonly instanceId: string;
  readonly limits: Config['edge'];
  readonly producer: EventProducer;
  readonly bundles: BundleSource;
  readonly log: Logger;
  /** null: tracing off (no OTLP endpoint). */
  readonly tracing: Tracing | null;
  isDraining(): boolean;
}

/** Acked ids remembered per connection for cheap de-duplication of resends. */
const ACKED_IDS_PER_SESSION = 10_000;
const OFFERS_REMEMBERED_PER_SESSION = 1_000;
/** Key and headers of a record, counted on top of its value. */
const RECORD_OVERHEAD_BYTES = 96;
const EMPTY = Buffer.alloc(0);
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Session implements ProduceSink {
  readonly id = randomUUID();
  private closed = false;
  private readonly bucket: TokenBucket;
  private readonly abuse = new AbuseMeter(ABUSE_LIMIT, ABUSE_WINDOW_MS);
  private readonly acked = new BoundedSet(ACKED_IDS_PER_SESSION);
  private readonly delivered = new BoundedSet(OFFERS_REMEMBERED_PER_SESSION);
  private readonly pending = new Map<string, ProduceItem>();
  private inflightBytes = 0;
  private expiryTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ws: WebSocket<UserData>,
    readonly player: string,
    private readonly expMs: number,
    private readonly ctx: SessionContext,
    readonly stream?: string,
  ) {
    this.bucket = new TokenBucket(ctx.limits.ratePerSec, ctx.limits.rateBurst, Date.now());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends `hello` and arms the token-expiry close. */
  start(): void {
    this.send(helloFrame(this.player, this.id, Date.now(), this.stream));
    this.armExpiry();
  }

  /** `bytes` is valid only during this call: everything is decoded (copied) before it returns. */
  onMessage(bytes: Uint8Array, isBinary: boolean): void {
    if (this.closed) return;
    const receivedAt = performance.now();
    if (bytes.length > this.ctx.limits.maxPayloadBytes) {
      edgeMetrics.framesIn.inc({ type: 'too_big' });
      this.end(CLOSE.TOO_BIG, CLOSE_REASON.tooBig);
      return;
    }
    if (!isBinary) {
      edgeMetrics.framesIn.inc({ type: 'text' });
      if (this.charge(1)) this.error('bad_frame', 'text frames are refused: send one binary MessagePack map per frame');
      return;
    }
    const decoded = decodeFrame(bytes);
    const parsed = decoded.ok ? parseClientFrame(decoded.frame) : decoded;
    if (!parsed.ok) {
      edgeMetrics.framesIn.inc({ type: 'bad' });
      if (this.charge(1)) this.error('bad_frame', parsed.message);
      return;
    }
    const frame = parsed.frame;
    edgeMetrics.framesIn.inc({ type: frame.t });
    if (frame.t === 'ping') {
      if (this.charge(1)) this.send(pongFrame(frame.n, frame.hasN));
      return;
    }
    const single = frame.t === 'ev' ? idOf(frame.events[0]) : undefined;
    if (!this.charge(frame.events.length, single)) return;
    // Head sampling (lib/tracing.ts): off, one null check; on, one random draw per frame.
    const tracing = this.ctx.tracing;
    if (tracing === null || !tracing.sample()) {
      this.ingest(frame.events, bytes.length, receivedAt, undefined);
      return;
    }
    const span = tracing.start('edge.receive', undefined, { 'playpulse.player': this.player, 'playpulse.edge': this.ctx.instanceId, 'playpulse.events': frame.events.length }, receivedAt);
    // The span ends when Kafka has the frame's first record (produced) or it is refused; now, if nothing of the frame went to Kafka.
    if (this.ingest(frame.events, bytes.length, receivedAt, span) === 0) span.end();
  }

  onClose(): void {
    this.closed = true;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
  }

  /** Pushes an offer unless it expired or this socket already has it. */
  deliverOffer(offer: Offer, source: 'live' | 'inbox'): void {
    if (this.closed) return;
    if (offer.expiresAt <= Date.now()) {
      edgeMetrics.offersSkipped.inc({ reason: 'expired' });
      return;
    }
    if (this.delivered.has(offer.id)) {
      edgeMetrics.offersSkipped.inc({ reason: 'duplicate' });
      return;
    }
    this.delivered.add(offer.id);
    if (this.corked(() => this.send(offerFrame(offer)))) edgeMetrics.offersDelivered.inc({ source });
  }

  /** Closes with a code; the uWS close handler runs at once and calls onClose. */
  end(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.ws.end(code, reason);
    } catch (err) {
      this.ctx.log.debug({ err }, 'end on a closing socket');
    }
  }

  produced(items: ProduceItem[]): void {
    const now = performance.now();
    const ids: string[] = [];
    for (const item of items) {
      this.release(item);
      for (const id of item.ids) {
        this.acked.add(id);
        ids.push(id);
      }
      edgeMetrics.ackLatency.observe((now - item.receivedAt) / 1000);
      if (item.span?.isRecording()) item.span.end();
    }
    if (!this.closed) this.corked(() => this.send(ackFrame(ids)));
  }

  refused(items: ProduceItem[], reason: string, final: boolean): void {
    const notify: string[] = [];
    for (const item of items) {
      if (final) this.release(item);
      if (item.span?.isRecording()) {
        item.span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
        item.span.end();
      }
      if (!item.notified) {
        item.notified = true;
        for (const id of item.ids) notify.push(id);
      }
    }
    if (this.closed || notify.length === 0) return;
    this.corked(() => {
      for (const id of notify) if (!this.error('unavailable', reason, id)) break;
    });
  }

  /**
   * Validates a frame's events and submits the new ones as one Kafka record (protocol/record.ts,
   * version 2); returns how many went to Kafka. `span`: the frame is traced. Per frame: one
   * record encode, one produce item, one metrics update each; per event: the validation and
   * two set lookups.
   */
  private ingest(rawEvents: readonly unknown[], frameBytes: number, receivedAt: number, span: Span | undefined): number {
    const taxonomy = this.ctx.bundles.current().events;
    let ackNow: string[] | null = null;
    let item: ProduceItem | null = null;
    const events: WireEvent[] = [];
    let withoutSeq = 0;
    let valid = 0;
    const eventContext = { hasStream: this.stream !== undefined, frameBytes };
    for (const raw of rawEvents) {
      if (this.closed) break;
      const check = validateEvent(raw, taxonomy, eventContext);
      if (!check.ok) {
        this.error('bad_event', check.message, check.id);
        continue;
      }
      const event = check.event;
      valid += 1;
      if (this.acked.has(event.id)) {
        edgeMetrics.eventsDuplicate.inc();
        (ackNow ??= []).push(event.id);
        continue;
      }
      const inFlight = this.pending.get(event.id);
      if (inFlight) {
        edgeMetrics.eventsDuplicate.inc();
        if (inFlight.notified) this.error('unavailable', 'this event is still on its way to Kafka; retry', event.id);
        continue;
      }
      const refusal = this.admissionProblem();
      if (refusal) {
        this.error('unavailable', refusal, event.id);
        continue;
      }
      item ??= { ids: [], key: this.player, value: EMPTY, headers: {}, bytes: 0, receivedAt, sink: this, notified: false, span };
      item.ids.push(event.id);
      // Taken in the frame's record: a later copy of the same id in this frame is a duplicate.
      this.pending.set(event.id, item);
      events.push(event);
      if (event.seq === undefined) withoutSeq += 1;
    }
    if (valid > 0) edgeMetrics.eventsIn.inc(valid);
    if (ackNow !== null) this.send(ackFrame(ackNow));
    if (item === null || this.closed) {
      if (item !== null) for (const id of item.ids) this.pending.delete(id);
      return 0;
    }
    const record: FrameRecord = { v: RECORD_VERSION, player: this.player, recvAt: Date.now(), edge: this.ctx.instanceId, session: this.id, events };
    if (this.stream !== undefined) record.stream = this.stream;
    const value = encodeFrameRecord(record);
    const traceparent = span && this.ctx.tracing ? this.ctx.tracing.traceparent(span) : undefined;
    const bytes = value.length + this.player.length + RECORD_OVERHEAD_BYTES + (traceparent === undefined ? 0 : TRACEPARENT.length + traceparent.length);
    if (!this.fits(bytes)) {
      for (const id of item.ids) {
        this.pending.delete(id);
        this.error('unavailable', 'the edge is at its in-flight limit (Kafka is slow); retry', id);
      }
      return 0;
    }
    item.value = value;
    item.bytes = bytes;
    item.headers = frameRecordHeaders(events);
    if (traceparent !== undefined) item.headers[TRACEPARENT] = traceparent;
    this.inflightBytes += bytes;
    if (withoutSeq > 0) edgeMetrics.eventsWithoutSeq.inc(withoutSeq);
    this.ctx.producer.submit(item);
    return events.length;
  }

  private admissionProblem(): string | null {
    if (this.ctx.isDraining()) return 'the edge is draining; reconnect and retry';
    if (!this.ctx.producer.accepting) return 'Kafka is unavailable; nothing was acked, retry';
    return null;
  }

  private fits(bytes: number): boolean {
    const l = this.ctx.limits;
    return this.inflightBytes + bytes <= l.inflightBytesPerConn && this.ctx.producer.inflightBytes + bytes <= l.inflightBytesGlobal;
  }

  private release(item: ProduceItem): void {
    let held = false;
    for (const id of item.ids) {
      if (this.pending.get(id) === item) {
        this.pending.delete(id);
        held = true;
      }
    }
    if (held) this.inflightBytes -= item.bytes;
  }

  /** Takes `cost` rate tokens; on refusal sends rate_limited and closes with 1008 on sustained abuse. */
  private charge(cost: number, id?: string): boolean {
    const now = Date.now();
    if (this.bucket.take(Math.max(1, cost), now)) return true;
    if (this.abuse.strike(now)) {
      this.end(CLOSE.POLICY, CLOSE_REASON.abuse);
      return false;
    }
    const what = cost > 1 ? `frame of ${cost} events refused` : 'frame refused';
    this.error('rate_limited', `${what}: over ${this.ctx.limits.ratePerSec} events/s (burst ${this.ctx.limits.rateBurst}); slow down and resend`, id);
    return false;
  }

  private error(code: WireErrorCode, message: string, id?: string): boolean {
    edgeMetrics.errors.inc({ code });
    return this.send(errFrame(code, message, id));
  }

  /** Sends one frame. A frame dropped at the backpressure limit closes the socket (slow reader). */
  private send(frame: ServerFrame): boolean {
    if (this.closed) return false;
    const status = this.ws.send(encodeFrame(frame), true, false);
    if (status === 2) {
      edgeMetrics.backpressureDrops.inc();
      this.end(CLOSE.POLICY, CLOSE_REASON.slowReader);
      return false;
    }
    edgeMetrics.framesOut.inc({ type: frame.t });
    return true;
  }

  /** Runs sends outside a uWS callback in one cork (one syscall). */
  private corked<T>(fn: () => T): T {
    let out!: T;
    if (this.closed) return fn();
    this.ws.cork(() => {
      out = fn();
    });
    return out;
  }

  private armExpiry(): void {
    const delay = this.expMs - Date.now();
    if (delay <= 0) {
      this.end(CLOSE.POLICY, CLOSE_REASON.tokenExpired);
      return;
    }
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = null;
      if (!this.closed) this.armExpiry();
    }, Math.min(delay, MAX_TIMER_MS));
    this.expiryTimer.unref();
  }
}

function idOf(raw: unknown): string | undefined {
  if (raw && typeof raw === 'object' && typeof (raw as Record<string, unknown>).id === 'string') return (raw as Record<string, string>).id;
  return undefined;
}
