import { context as otelContext, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * Traces across the pipeline (docs/operations.md "Traces"): OpenTelemetry spans from the
 * edge's receipt of a frame, through Kafka (a W3C `traceparent` record header), the
 * processor's apply and decision, the offer's routing, to the edge's push of the offer.
 *
 * Off and free unless OTEL_EXPORTER_OTLP_ENDPOINT is set: every role then holds `null`
 * instead of a Tracing, and each hop pays one null check. On, the edge samples a frame
 * with probability PLAYPULSE_TRACE_SAMPLE_RATE (head sampling, one `Math.random()` per
 * frame); only a sampled frame's records carry `traceparent`, and every later hop traces
 * exactly the records and offers that arrive with one. So an unsampled event costs the
 * random draw at the edge and a header lookup in the processor, nothing more.
 *
 * Spans are created with explicit parents (no context manager, no async hooks): the
 * pipeline hands contexts along with the events, not through the call stack.
 */

/** The header a sampled record carries, and the field of an offer-channel message. */
export const TRACEPARENT = 'traceparent';

export interface TracingOptions {
  /** OTLP/HTTP base endpoint (spans go to `<endpoint>/v1/traces`); null: tracing off. */
  readonly endpoint: string | null;
  /** Share of frames the edge traces, 0..1. */
  readonly sampleRate: number;
}

export interface Tracing {
  readonly sampleRate: number;
  /** Head sampling at the edge: true for about `sampleRate` of the calls. */
  sample(): boolean;
  /** A span with an explicit parent (none: a new trace). `startTime`: ms since the epoch, or a `performance.now()` reading. */
  start(name: string, parent: Context | undefined, attributes?: Attributes, startTime?: number): Span;
  /** The context whose active span is `span`: the parent for the next hop. */
  contextOf(span: Span): Context;
  /** `traceparent` of a span, for a record header or a channel message. */
  traceparent(span: Span): string;
  /** The remote parent a `traceparent` names; undefined for a missing or malformed one. */
  extract(traceparent: string | undefined | null): Context | undefined;
  /** Sends what is buffered and stops. */
  shutdown(): Promise<void>;
}

const propagator = new W3CTraceContextPropagator();
const setter = { set: (carrier: Record<string, string>, key: string, value: string) => void (carrier[key] = value) };
const getter = {
  get: (carrier: Record<string, string>, key: string) => carrier[key],
  keys: (carrier: Record<string, string>) => Object.keys(carrier),
};

/**
 * Tracing for one process (all its roles), or null when no endpoint is configured and no
 * exporter is given. `exporter` replaces the OTLP exporter (tests: an in-memory one, with
 * spans exported as they end).
 */
export function startTracing(options: TracingOptions, instanceId: string, exporter?: SpanExporter): Tracing | null {
  if (!exporter && options.endpoint === null) return null;
  const processor = exporter
    ? new SimpleSpanProcessor(exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter({ url: `${(options.endpoint ?? '').replace(/\/+$/, '')}/v1/traces` }), { maxQueueSize: 4096 });
  const provider = new BasicTracerProvider({
    // The edge decides (sample()); every later hop traces what arrives with a traceparent.
    sampler: new AlwaysOnSampler(),
    resource: resourceFromAttributes({ 'service.name': 'playpulse', 'service.instance.id': instanceId }),
    spanProcessors: [processor],
  });
  const tracer: Tracer = provider.getTracer('playpulse');
  const rate = options.sampleRate;
  return {
    sampleRate: rate,
    sample: () => rate > 0 && (rate >= 1 || Math.random() < rate),
    start: (name, parent, attributes, startTime) => tracer.startSpan(name, { attributes, startTime }, parent ?? otelContext.active()),
    contextOf: (span) => trace.setSpan(otelContext.active(), span),
    traceparent: (span) => {
      const carrier: Record<string, string> = {};
      propagator.inject(trace.setSpan(otelContext.active(), span), carrier, setter);
      return carrier[TRACEPARENT] ?? '';
    },
    extract: (value) => {
      if (typeof value !== 'string' || value.length === 0) return undefined;
      const ctx = propagator.extract(otelContext.active(), { [TRACEPARENT]: value }, getter);
      return trace.getSpanContext(ctx) ? ctx : undefined;
    },
    shutdown: () => provider.shutdown(),
  };
}
