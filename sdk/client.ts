/**
 * PlayPulse client for browsers and Node (docs/protocol.md). Give it a WebSocket
 * constructor (browsers: the global one, the default; Node: the `ws` package).
 *
 *   const client = new PlayPulseClient({ url: 'ws://host:9001/v1/play', token: () => fetchToken() });
 *   client.onOffer((offer) => show(offer));
 *   client.connect();
 *   await client.send({ type: 'match.end', data: { result: 'loss' } });   // resolves on ack
 *
 * Every event goes into the outbox until the edge acks it; after a reconnect (backoff with
 * jitter) the outbox is sent again. `unavailable` and `rate_limited` are retried after a
 * backoff; `bad_event` rejects the event's promise. Offers are de-duplicated by id.
 *
 * Each client is one stream (docs/protocol.md, "Resends and de-duplication"): it connects
 * with `?stream=<id>` (random unless given) and gives every event a `seq` when first sent,
 * kept on every resend, so the backend counts a resent event once. The outbox never keeps
 * an event unacked once its seq is RESEND_WINDOW behind the newest: `send` rejects with
 * `outbox_full` instead.
 */
import { evFrame, evsFrame, pingFrame, type WireEvent } from '../protocol/client-frames.ts';
import { decodeFrame, encodeFrame } from '../protocol/codec.ts';
import { MAX_BATCH_EVENTS, STREAM_PATTERN } from '../protocol/limits.ts';
import type { Offer } from '../protocol/offer.ts';
import { parseServerFrame, type ErrFrame, type ServerFrame } from '../protocol/server-frames.ts';
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import { Outbox } from './outbox.ts';

/** The part of the WebSocket API the client uses; the browser's and `ws`'s both fit. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ClientOptions {
  /** `ws://host:port/v1/play` */
  url: string;
  /** A token, or a function returning a fresh one (called before every connect). */
  token: string | (() => string | Promise<string>);
  WebSocket?: WebSocketConstructor;
  backoff?: BackoffOptions;
  /** Most unacked events kept; `send` rejects beyond it. Default 10 000, at most RESEND_WINDOW (65 536). */
  outboxCapacity?: number;
  /** The stream id (1..64 of [A-Za-z0-9_.:-]); default 16 random base64url characters. */
  stream?: string;
  /** To continue a persisted stream: the seq of the first event sent (its `nextSeq` when persisted). Default 1. */
  nextSeq?: number;
}

export interface ClientEvent {
  /**
   * Unique per player; generated when absent. The client resends unacked events itself; an
   * id sent again while still unacked keeps its seq (and both promises settle on its ack).
   */
  id?: string;
  type: string;
  ts?: number;
  data?: Record<string, unknown>;
}

export class PlayPulseError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PlayPulseError';
  }
}

const OPEN = 1;
const SEEN_OFFERS = 1_000;

export class PlayPulseClient {
  private ws: WebSocketLike | null = null;
  private ready = false;
  private closing = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryAttempt = 0;
  private readonly unsent: string[] = [];
  private flushQueued = false;
  private readonly outbox: Outbox;
  private readonly seenOffers = new Set<string>();
  private readonly offerListeners = new Set<(offer: Offer) => void>();
  private readonly errorListeners = new Set<(err: ErrFrame) => void>();
  private readonly stateListeners = new Set<(state: { connected: boolean; session?: string; code?: number; reason?: string }) => void>();
  private readonly WS: WebSocketConstructor;
  private readonly backoff: BackoffOptions;
  private pongWaiters: ((n: unknown) => void)[] = [];
  session: string | null = null;
  /** This client's stream id, sent as `?stream=` on every connect. */
  readonly stream: string;

  constructor(private readonly opts: ClientOptions) {
    const ctor = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!ctor) throw new PlayPulseError('bad_options', 'no WebSocket constructor: pass options.WebSocket (in Node: the `ws` package)');
    this.WS = ctor;
    this.backoff = opts.backoff ?? { baseMs: 250, maxMs: 10_000 };
    if (opts.stream !== undefined && !STREAM_PATTERN.test(opts.stream)) throw new PlayPulseError('bad_options', 'options.stream must be 1..64 of [A-Za-z0-9_.:-]');
    this.stream = opts.stream ?? randomStreamId();
    this.outbox = new Outbox({ capacity: opts.outboxCapacity ?? 10_000, nextSeq: opts.nextSeq });
  }

  /** The seq the next new event gets: persist it with `stream` to continue the stream later. */
  get nextSeq(): number {
    return this.outbox.nextSeq;
  }

  get connected(): boolean {
    return this.ready;
  }

  /** Events sent and not yet acked. */
  get pending(): number {
    return this.outbox.size;
  }

  onOffer(listener: (offer: Offer) => void): () => void {
    this.offerListeners.add(listener);
    return () => this.offerListeners.delete(listener);
  }

  /** `err` frames from the edge (after the client handled them). */
  onError(listener: (err: ErrFrame) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  onState(listener: (state: { connected: boolean; session?: string; code?: number; reason?: string }) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  connect(): void {
    this.closing = false;
    void this.open();
  }

  /** Sends an event; resolves once the edge acked it (it is durably in Kafka). */
  send(event: ClientEvent): Promise<void> {
    const wire: WireEvent = { id: event.id ?? randomId(), type: event.type };
    if (event.ts !== undefined) wire.ts = event.ts;
    if (event.data !== undefined) wire.data = event.data;
    return new Promise<void>((resolve, reject) => {
      if (this.closing) {
        reject(new PlayPulseError('closed', 'the client is closed'));
        return;
      }
      if (!this.outbox.add({ event: wire, resolve, reject })) {
        reject(new PlayPulseError('outbox_full', 'too many unacked events'));
        return;
      }
      this.unsent.push(wire.id);
      this.queueFlush();
    });
  }

  /** Round trip to the edge; resolves with the echoed `n`. */
  ping(n?: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (!this.ready || !this.ws) {
        reject(new PlayPulseError('not_connected', 'not connected'));
        return;
      }
      this.pongWaiters.push(resolve);
      this.ws.send(encodeFrame(pingFrame(n)));
    });
  }

  /** Closes for good: no reconnect; unacked events are rejected. */
  close(): Promise<void> {
    this.closing = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.outbox.rejectAll(new PlayPulseError('closed', 'the client was closed before the event was acked'));
    const ws = this.ws;
    if (!ws || ws.readyState > OPEN) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = ws.onclose;
      ws.onclose = (ev) => {
        prev?.(ev);
        resolve();
      };
      ws.close(1000, 'client closing');
    });
  }

  private async open(): Promise<void> {
    if (this.closing || this.ws) return;
    let token: string;
    try {
      token = typeof this.opts.token === 'function' ? await this.opts.token() : this.opts.token;
    } catch {
      this.scheduleReconnect();
      return;
    }
    if (this.closing) return;
    const sep = this.opts.url.includes('?') ? '&' : '?';
    const ws = new this.WS(`${this.opts.url}${sep}token=${encodeURIComponent(token)}&stream=${encodeURIComponent(this.stream)}`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = (ev) => this.onMessage(ev.data);
    ws.onerror = () => undefined;
    ws.onclose = (ev) => {
      this.ws = null;
      this.ready = false;
      for (const l of this.stateListeners) l({ connected: false, code: ev.code, reason: ev.reason });
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.closing || this.reconnectTimer) return;
    const delay = backoffDelay(this.attempt++, this.backoff);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.open();
    }, delay);
  }

  private onMessage(data: unknown): void {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
    if (!bytes) return;
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) return;
    const frame = parseServerFrame(decoded.frame);
    if (frame) this.handle(frame);
  }

  private handle(frame: ServerFrame): void {
    switch (frame.t) {
      case 'hello':
        this.ready = true;
        this.attempt = 0;
        this.session = frame.session;
        for (const l of this.stateListeners) l({ connected: true, session: frame.session });
        this.resendAll();
        return;
      case 'ack':
        this.outbox.ack(frame.ids);
        if (this.outbox.size === 0) this.retryAttempt = 0;
        return;
      case 'offer':
        if (this.seenOffers.has(frame.offer.id)) return;
        this.seenOffers.add(frame.offer.id);
        if (this.seenOffers.size > SEEN_OFFERS) this.seenOffers.delete(this.seenOffers.values().next().value as string);
        for (const l of this.offerListeners) l(frame.offer);
        return;
      case 'pong':
        this.pongWaiters.shift()?.(frame.n);
        return;
      case 'err':
        if (frame.code === 'bad_event' && frame.id !== undefined) this.outbox.reject(frame.id, new PlayPulseError(frame.code, frame.message));
        else if (frame.code === 'unavailable' || frame.code === 'rate_limited') this.scheduleRetry();
        for (const l of this.errorListeners) l(frame);
        return;
    }
  }

  /** After `unavailable` or `rate_limited`: resend the whole outbox after a backoff. */
  private scheduleRetry(): void {
    if (this.retryTimer || this.closing) return;
    const delay = backoffDelay(this.retryAttempt++, this.backoff);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.ready) this.resendAll();
    }, delay);
  }

  private resendAll(): void {
    this.unsent.length = 0;
    for (const e of this.outbox.events()) this.unsent.push(e.id);
    this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  private flush(): void {
    if (!this.ready || !this.ws || this.ws.readyState !== OPEN) return;
    const ids = [...new Set(this.unsent.splice(0))];
    const events = ids.map((id) => this.outbox.get(id)).filter((e): e is WireEvent => e !== undefined);
    for (let i = 0; i < events.length; i += MAX_BATCH_EVENTS) {
      const chunk = events.slice(i, i + MAX_BATCH_EVENTS);
      this.ws.send(encodeFrame(chunk.length === 1 ? evFrame(chunk[0] as WireEvent) : evsFrame(chunk)));
    }
  }
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** 16 base64url characters (96 random bits) from the platform's crypto random source. */
export function randomStreamId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(12));
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += `${BASE64URL[(n >> 18) & 63]}${BASE64URL[(n >> 12) & 63]}${BASE64URL[(n >> 6) & 63]}${BASE64URL[n & 63]}`;
  }
  return out;
}
