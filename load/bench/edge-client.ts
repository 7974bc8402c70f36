/**
 * Load generator of the edge-only ingest benchmark (edge-ingest.ts starts it as its own
 * process). Opens `connections` WebSocket clients (`ws`), each keeping `window` frames of
 * `batch` events in flight (closed loop), for `seconds`; records per-event ack latency
 * (send to ack) in an HdrHistogram. Each connection is one stream, like an SDK instance:
 * `?stream=` on the upgrade and a seq on every event. Prints one JSON line with the result
 * on stdout.
 *
 *   tsx load/bench/edge-client.ts <json options>
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { build } from 'hdr-histogram-js';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame } from '../../protocol/codec.ts';
import { signPlayerToken } from '../../edge/auth.ts';
import { errorMessage } from '../../lib/errors.ts';
import { sleep } from '../../lib/time.ts';

export interface BenchClientOptions {
  url: string;
  secret: string;
  connections: number;
  seconds: number;
  batch: number;
  window: number;
}

export interface BenchClientResult {
  acked: number;
  errors: Record<string, number>;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

async function run(o: BenchClientOptions): Promise<BenchClientResult> {
  const hist = build({ bitBucketSize: 'packed', lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  const errors: Record<string, number> = {};
  let acked = 0;
  let measuring = false;
  let stopping = false;
  const sockets: WebSocket[] = [];
  const loops: Promise<void>[] = [];
  for (let c = 0; c < o.connections; c++) {
    const token = await signPlayerToken(o.secret, `bench-${c}`, 3600);
    const ws = new WebSocket(`${o.url}?token=${token}&stream=${randomBytes(12).toString('base64url')}`);
    sockets.push(ws);
    loops.push(
      new Promise<void>((resolve, reject) => {
        const sentAt = new Map<string, number>();
        let seq = 0;
        const sendFrame = () => {
          if (stopping) return;
          const events = [];
          const now = performance.now();
          for (let i = 0; i < o.batch; i++) {
            const id = `${c}-${seq++}`;
            sentAt.set(id, now);
            events.push({ id, type: 'match.end', ts: Date.now(), seq, data: { result: seq % 3 === 0 ? 'loss' : 'win', duration_s: 300, mode: 'ranked' } });
          }
          ws.send(encodeFrame(o.batch === 1 ? { t: 'ev', ...events[0] } : { t: 'evs', events }));
        };
        let ackedInFrame = 0;
        ws.on('message', (data: Buffer) => {
          const decoded = decodeFrame(data);
          if (!decoded.ok) return;
          const f = decoded.frame;
          if (f.t === 'hello') {
            for (let i = 0; i < o.window; i++) sendFrame();
          } else if (f.t === 'ack') {
            const now = performance.now();
            for (const id of f.ids as string[]) {
              const t0 = sentAt.get(id);
              if (t0 === undefined) continue;
              sentAt.delete(id);
              if (measuring) {
                acked += 1;
                hist.recordValue(Math.max(1, Math.round((now - t0) * 1000)));
              }
              ackedInFrame += 1;
              if (ackedInFrame >= o.batch) {
                ackedInFrame -= o.batch;
                sendFrame();
              }
            }
          } else if (f.t === 'err') {
            const code = String(f.code);
            errors[code] = (errors[code] ?? 0) + 1;
          }
        });
        ws.on('close', () => resolve());
        ws.on('error', (err) => reject(err));
      }),
    );
  }
  const warmup = Math.min(2, o.seconds / 5);
  await sleep(warmup * 1000);
  measuring = true;
  const t0 = performance.now();
  await sleep(o.seconds * 1000);
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  stopping = true;
  for (const ws of sockets) ws.close(1000);
  await Promise.allSettled(loops);
  const ms = (p: number) => Math.round(hist.getValueAtPercentile(p)) / 1000;
  return { acked, errors, seconds: elapsed, p50Ms: ms(50), p99Ms: ms(99), p999Ms: ms(99.9), maxMs: Math.round(hist.maxValue) / 1000 };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() as string)) {
  run(JSON.parse(process.argv[2] ?? '{}') as BenchClientOptions).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`bench client failed: ${errorMessage(err)}\n`);
      process.exit(1);
    },
  );
}
