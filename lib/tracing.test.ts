import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from './tracing.ts';

describe('startTracing', () => {
  it('is off (null) without an endpoint or an exporter', () => {
    expect(startTracing({ endpoint: null, sampleRate: 1 }, 'i')).toBeNull();
  });

  it('samples about sampleRate of the frames, none at 0 and all at 1', () => {
    const exporter = new InMemorySpanExporter();
    const draws = (rate: number) => {
      const t = startTracing({ endpoint: null, sampleRate: rate }, 'i', exporter) as Tracing;
      let n = 0;
      for (let i = 0; i < 20_000; i += 1) if (t.sample()) n += 1;
      return n;
    };
    expect(draws(0)).toBe(0);
    expect(draws(1)).toBe(20_000);
    // 1% of 20,000 = 200; a binomial with this n stays within ±5 sigma (about ±70) all but never.
    expect(Math.abs(draws(0.01) - 200)).toBeLessThan(70);
  });

  it('carries a span as a W3C traceparent and back, and refuses malformed ones', () => {
    const exporter = new InMemorySpanExporter();
    const t = startTracing({ endpoint: null, sampleRate: 1 }, 'i', exporter) as Tracing;
    const root = t.start('edge.receive', undefined);
    const header = t.traceparent(root);
    expect(header).toBe(`00-${root.spanContext().traceId}-${root.spanContext().spanId}-01`);
    const child = t.start('processor.apply', t.extract(header));
    child.end();
    root.end();
    const [applied] = exporter.getFinishedSpans();
    expect(applied?.spanContext().traceId).toBe(root.spanContext().traceId);
    expect(applied?.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    for (const bad of [undefined, null, '', 'garbage', '00-zz-yy-01', `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`]) expect(t.extract(bad)).toBeUndefined();
  });

  it('exports to <endpoint>/v1/traces over OTLP/HTTP, flushing on shutdown', async () => {
    const requests: { url: string | undefined; type: string | undefined; bytes: number }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        requests.push({ url: req.url, type: req.headers['content-type'], bytes });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const t = startTracing({ endpoint: `http://127.0.0.1:${port}/`, sampleRate: 1 }, 'i') as Tracing;
      t.start('edge.receive', undefined, { 'playpulse.player': 'p1' }).end();
      await t.shutdown();
      expect(requests).toHaveLength(1);
      expect(requests[0]?.url).toBe('/v1/traces');
      expect(requests[0]?.bytes).toBeGreaterThan(0);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
