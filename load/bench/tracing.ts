/**
 * The cost of tracing (lib/tracing.ts): the same fixed-rate ingest against two edge
 * processes of the same build, one with tracing off and one sampling frames at
 * PLAYPULSE_TRACE_SAMPLE_RATE (1%) into an OTLP/HTTP sink in this process, in alternating
 * rounds (off, on, off, on, …) so that drift of the machine falls on both. The processors
 * process is shared and has tracing configured: records from the traced edge that carry a
 * traceparent are traced through apply, decide and routing; the others cost a header lookup.
 * Figures: edge CPU per acked event (the edge's own CPU time over the phase), processors
 * CPU per event, ack p99; medians per side, and on/off ratios. Nothing asserted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IngestScenario } from '../scenarios/index.ts';
import { ingestPhase, type IngestFigures, type PhaseContext, type Target } from './phases.ts';

export interface TracingRound {
  readonly tracing: 'off' | 'on';
  readonly ackedPerSec: number;
  readonly ackP99Ms: number;
  /** Edge CPU time per acked event, µs. */
  readonly edgeCpuUsPerEvent: number;
  /** Processors CPU time per acked event of the round, µs (the processors take every edge's events). */
  readonly processorsCpuUsPerEvent: number;
}

export interface TracingFigures {
  readonly sampleRate: number;
  readonly offeredPerSec: number;
  readonly rounds: TracingRound[];
  readonly median: { readonly off: Omit<TracingRound, 'tracing'>; readonly on: Omit<TracingRound, 'tracing'> };
  /** Median edge CPU per event, on / off (1.03 = 3% more). */
  readonly edgeCpuRatio: number | null;
  /** The same for the processors. */
  readonly processorsCpuRatio: number | null;
  /** Spans the sink received over the whole run, and in how many export requests. */
  readonly spansExported: number;
  readonly exportRequests: number;
}

export interface OtlpSink {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  spans(): number;
  requests(): number;
  close(): Promise<void>;
}

/** A minimal OTLP/HTTP JSON receiver on loopback: counts the spans of every export request, answers 200. */
export async function startOtlpSink(): Promise<OtlpSink> {
  let spans = 0;
  let requests = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests += 1;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[] };
        for (const r of body.resourceSpans ?? []) for (const s of r.scopeSpans ?? []) spans += s.spans?.length ?? 0;
      } catch {
        // a body that is not OTLP JSON counts as a request without spans
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => spans,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** CPU µs per event: the process's CPU time over the phase's wall time, at the acked rate (unrounded). */
function round(f: IngestFigures, tracing: 'off' | 'on'): TracingRound {
  const wallMs = f.wallMs ?? NaN;
  const perEvent = (cpuMs: number | undefined) => (f.ackedPerSec > 0 && cpuMs !== undefined ? (cpuMs * 1000) / ((f.ackedPerSec * wallMs) / 1000) : NaN);
  return {
    tracing,
    ackedPerSec: f.ackedPerSec,
    ackP99Ms: f.ack.p99Ms,
    edgeCpuUsPerEvent: perEvent(f.cpuMs?.edge),
    processorsCpuUsPerEvent: perEvent(f.cpuMs?.processors),
  };
}

function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

function medians(rounds: readonly TracingRound[]): Omit<TracingRound, 'tracing'> {
  return {
    ackedPerSec: median(rounds.map((r) => r.ackedPerSec)),
    ackP99Ms: median(rounds.map((r) => r.ackP99Ms)),
    edgeCpuUsPerEvent: median(rounds.map((r) => r.edgeCpuUsPerEvent)),
    processorsCpuUsPerEvent: median(rounds.map((r) => r.processorsCpuUsPerEvent)),
  };
}

export async function tracingPhase(
  off: Target,
  on: Target,
  s: IngestScenario,
  ctx: PhaseContext,
  opts: { sampleRate: number; rounds: number; warmupMs: number; sink: OtlpSink; settle: () => Promise<void> },
): Promise<TracingFigures> {
  const rounds: TracingRound[] = [];
  for (let i = 0; i < opts.rounds; i += 1) {
    for (const [target, tracing] of [[off, 'off'], [on, 'on']] as const) {
      rounds.push(round(await ingestPhase(target, s, ctx, `tr${tracing}${i}`, opts.warmupMs), tracing));
      await opts.settle();
    }
  }
  const m = { off: medians(rounds.filter((r) => r.tracing === 'off')), on: medians(rounds.filter((r) => r.tracing === 'on')) };
  const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : null);
  return {
    sampleRate: opts.sampleRate,
    offeredPerSec: s.ratePerSec,
    rounds,
    median: m,
    edgeCpuRatio: ratio(m.on.edgeCpuUsPerEvent, m.off.edgeCpuUsPerEvent),
    processorsCpuRatio: ratio(m.on.processorsCpuUsPerEvent, m.off.processorsCpuUsPerEvent),
    spansExported: opts.sink.spans(),
    exportRequests: opts.sink.requests(),
  };
}
