/**
 * The edge's one Kafka producer, shared by every connection: a group-commit queue.
 *
 * Items wait at most `lingerMs` for company, then go to Kafka as one `send` (acks -1,
 * idempotent producer from lib/kafka.ts). Exactly one send is in flight at a time (the
 * kafkajs idempotent producer needs that for its sequence numbers); whatever arrives while
 * it is in flight forms the next send, so batches grow with load. Each item's sink hears
 * `produced` only after Kafka acknowledged its send.
 *
 * Refusals: a failed send, an item queued longer than `produceTimeoutMs`, or Kafka known to
 * be down (two failed probes in a row, or a failed send, until a probe succeeds) make items
 * `refused` with final = true. A send still in flight after `produceTimeoutMs` is reported
 * refused with final = false: its items may yet be written, and then `produced` follows.
 * Bytes stay counted in `inflightBytes` until their send settles, so memory is bounded by
 * what the caller admits against it.
 */
import type { Span } from '@opentelemetry/api';
import { performance } from 'node:perf_hooks';
import type { Admin, Kafka } from 'kafkajs';
import type { DurableProducer } from '../lib/kafka.ts';
import type { Logger } from '../lib/log.ts';
import { edgeMetrics } from './metrics.ts';
import { errorMessage } from '../lib/errors.ts';
import { sleep } from '../lib/time.ts';

/** One Kafka record: the events of one client frame that went to Kafka (protocol/record.ts, version 2). */
export interface ProduceItem {
  /** The ids of the record's events, in order. */
  readonly ids: string[];
  readonly key: string;
  value: Buffer;
  headers: Record<string, string>;
  /** Accounted size: value, key and headers. */
  bytes: number;
  /** performance.now() when the frame arrived. */
  readonly receivedAt: number;
  readonly sink: ProduceSink;
  /** Set by the sink once it told the client `unavailable` for this item. */
  notified: boolean;
  /** The frame's `edge.receive` span when it is traced (lib/tracing.ts); undefined otherwise. */
  readonly span?: Span | undefined;
}

export interface ProduceSink {
  produced(items: ProduceItem[]): void;
  refused(items: ProduceItem[], reason: string, final: boolean): void;
}

export interface ProducerOptions {
  topic: string;
  lingerMs: number;
  produceTimeoutMs: number;
  probeIntervalMs: number;
  maxBatchBytes: number;
  maxBatchEvents: number;
}

interface InFlight {
  items: ProduceItem[];
  bytes: number;
  events: number;
  startedAt: number;
  timedOut: boolean;
}

const PROBE_FAILURES_FOR_DOWN = 2;
const PROBE_MIN_TIMEOUT_MS = 3_000;
const RECONNECT_DELAY_MS = 1_000;
/** A producer still connecting to an unresponsive broker may never finish disconnecting. */
const STOP_TIMEOUT_MS = 3_000;

export class EventProducer {
  private queue: (ProduceItem | undefined)[] = [];
  private head = 0;
  private queuedBytes = 0;
  private sending: InFlight | null = null;
  private timer: NodeJS.Timeout | null = null;
  private connected = false;
  private healthy = true;
  private probeFailures = 0;
  private probing = false;
  private lastSuccessAt = 0;
  private admin: Admin | null = null;
  private stopped = false;
  private draining = false;
  private readonly tickers: NodeJS.Timeout[] = [];

  constructor(
    private readonly producer: DurableProducer,
    private readonly probeKafka: Kafka,
    private readonly opts: ProducerOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    void this.connectLoop();
    void this.probe();
    this.tickers.push(setInterval(() => void this.probe(), this.opts.probeIntervalMs).unref());
    this.tickers.push(setInterval(() => this.expire(), Math.max(10, Math.min(100, this.opts.produceTimeoutMs / 4))).unref());
  }

  /** Connected and Kafka answering: what /readyz reports. */
  get ready(): boolean {
    return this.connected && this.healthy && !this.stopped;
  }

  /** Whether new items may be submitted now (false while Kafka is known to be down). */
  get accepting(): boolean {
    return this.healthy && !this.stopped;
  }

  /** Bytes queued or in flight. */
  get inflightBytes(): number {
    return this.queuedBytes + (this.sending?.bytes ?? 0);
  }

  submit(item: ProduceItem): void {
    this.queue.push(item);
    this.queuedBytes += item.bytes;
    edgeMetrics.inflightBytes.set(this.inflightBytes);
    this.schedule();
  }

  /**
   * Sends everything queued without lingering and waits until nothing is queued or in
   * flight, at most `timeoutMs`. Whatever is still queued then is refused. True when all
   * settled in time.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    this.schedule();
    const deadline = performance.now() + timeoutMs;
    while ((this.sending || this.head < this.queue.length) && performance.now() < deadline) {
      await sleep(5);
    }
    const done = !this.sending && this.head >= this.queue.length;
    if (!done) this.refuseQueued('edge draining');
    return done;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.tickers) clearInterval(t);
    if (this.timer) clearTimeout(this.timer);
    this.refuseQueued('edge stopping');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([this.producer.disconnect(), this.admin?.disconnect()]),
      new Promise((r) => (timer = setTimeout(r, STOP_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
  }

  private schedule(): void {
    if (this.sending || this.timer || !this.connected || this.stopped || this.head >= this.queue.length) return;
    const delay = this.draining ? 0 : this.opts.lingerMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, delay);
  }

  private flush(): void {
    if (this.sending || !this.connected || this.stopped || this.head >= this.queue.length) return;
    // Batch boundary: one produce request holds whole records, up to maxBatchEvents events
    // and maxBatchBytes (a record larger than either goes alone).
    const items: ProduceItem[] = [];
    let bytes = 0;
    let events = 0;
    while (this.head < this.queue.length) {
      const item = this.queue[this.head] as ProduceItem;
      if (items.length > 0 && (bytes + item.bytes > this.opts.maxBatchBytes || events + item.ids.length > this.opts.maxBatchEvents)) break;
      items.push(item);
      bytes += item.bytes;
      events += item.ids.length;
      this.queue[this.head++] = undefined;
    }
    this.compact();
    this.queuedBytes -= bytes;
    const batch: InFlight = { items, bytes, events, startedAt: performance.now(), timedOut: false };
    this.sending = batch;
    edgeMetrics.batchSize.observe(events);
    edgeMetrics.batchBytes.observe(bytes);
    this.producer
      .send({
        topic: this.opts.topic,
        acks: -1,
        messages: items.map((i) => ({ key: i.key, value: i.value, headers: i.headers })),
      })
      .then(
        () => this.settle(batch, null),
        (err: unknown) => this.settle(batch, err),
      );
  }

  private settle(batch: InFlight, err: unknown): void {
    this.sending = null;
    edgeMetrics.inflightBytes.set(this.inflightBytes);
    if (err === null) {
      this.healthy = true;
      this.lastSuccessAt = performance.now();
      edgeMetrics.eventsProduced.inc(batch.events);
      edgeMetrics.recordsProduced.inc(batch.items.length);
      for (const [sink, items] of bySink(batch.items)) safely(this.log, () => sink.produced(items));
    } else {
      this.log.warn({ err, events: batch.events }, 'produce failed; events refused as unavailable');
      this.markDown();
      edgeMetrics.produceFailures.inc(batch.events);
      for (const [sink, items] of bySink(batch.items)) safely(this.log, () => sink.refused(items, 'Kafka did not take the events; retry', true));
    }
    if (this.head < this.queue.length) setImmediate(() => this.flush());
  }

  /** Refuses queued items older than the produce timeout; reports a send in flight too long. */
  private expire(): void {
    const now = performance.now();
    const limit = this.opts.produceTimeoutMs;
    if (this.sending && !this.sending.timedOut && now - this.sending.startedAt > limit) {
      this.sending.timedOut = true;
      edgeMetrics.produceFailures.inc(this.sending.events);
      for (const [sink, items] of bySink(this.sending.items)) safely(this.log, () => sink.refused(items, 'Kafka did not answer in time; retry', false));
    }
    const old: ProduceItem[] = [];
    while (this.head < this.queue.length) {
      const item = this.queue[this.head] as ProduceItem;
      if (now - item.receivedAt <= limit) break;
      old.push(item);
      this.queuedBytes -= item.bytes;
      this.queue[this.head++] = undefined;
    }
    if (old.length > 0) {
      this.compact();
      edgeMetrics.produceFailures.inc(eventCount(old));
      edgeMetrics.inflightBytes.set(this.inflightBytes);
      for (const [sink, items] of bySink(old)) safely(this.log, () => sink.refused(items, 'Kafka did not take the events in time; retry', true));
    }
  }

  private refuseQueued(reason: string): void {
    const items = this.queue.slice(this.head) as ProduceItem[];
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    edgeMetrics.inflightBytes.set(this.inflightBytes);
    if (items.length === 0) return;
    edgeMetrics.produceFailures.inc(eventCount(items));
    for (const [sink, list] of bySink(items)) safely(this.log, () => sink.refused(list, reason, true));
  }

  private markDown(): void {
    if (this.healthy) this.log.warn('Kafka unavailable: refusing events until it answers again');
    this.healthy = false;
    this.refuseQueued('Kafka is unavailable; retry');
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    } else if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
  }

  private async connectLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopped && !this.connected) {
      try {
        await this.producer.connect();
        this.connected = !this.stopped;
        this.log.info('Kafka producer connected');
        this.schedule();
      } catch (err) {
        if (failures++ === 0) this.log.warn({ err: errorMessage(err) }, 'Kafka producer cannot connect; retrying every second');
        else this.log.debug({ err: errorMessage(err), failures }, 'Kafka producer still cannot connect');
        await new Promise((r) => setTimeout(r, RECONNECT_DELAY_MS).unref());
      }
    }
  }

  /**
   * One metadata request with its own client (no retries). Two failures in a row mark Kafka
   * down, unless a produce succeeded meanwhile (a busy process may answer a probe late, and
   * an acknowledged produce is better evidence than a probe). A refused connection fails at
   * once; an unanswered one after the probe timeout.
   */
  private async probe(): Promise<void> {
    if (this.probing || this.stopped) return;
    this.probing = true;
    const admin = (this.admin ??= this.probeKafka.admin());
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        admin.connect().then(() => admin.describeCluster()),
        new Promise((_, reject) => {
          // programmer error: internal timeout sentinel, caught below; it never leaves the probe
          timer = setTimeout(() => reject(new Error('probe timed out')), Math.max(PROBE_MIN_TIMEOUT_MS, 2 * this.opts.probeIntervalMs));
        }),
      ]);
      this.probeFailures = 0;
      if (!this.healthy && !this.stopped) {
        this.healthy = true;
        this.log.info('Kafka answers again: taking events');
      }
    } catch {
      if (performance.now() - this.lastSuccessAt > 2 * this.opts.probeIntervalMs) this.probeFailures += 1;
      this.admin = null;
      void admin.disconnect().catch(() => undefined);
      if (this.probeFailures >= PROBE_FAILURES_FOR_DOWN && !this.stopped) this.markDown();
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }
}

function eventCount(items: readonly ProduceItem[]): number {
  let n = 0;
  for (const item of items) n += item.ids.length;
  return n;
}

function bySink(items: readonly ProduceItem[]): Map<ProduceSink, ProduceItem[]> {
  const out = new Map<ProduceSink, ProduceItem[]>();
  for (const item of items) {
    const list = out.get(item.sink);
    if (list) list.push(item);
    else out.set(item.sink, [item]);
  }
  return out;
}

function safely(log: Logger, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    log.error({ err }, 'produce callback failed');
  }
}
