/**
 * Ingest traffic from one generator: every player streams batches from the shared event
 * mix, paced per socket at its share of the offered rate (open loop; latency counts from
 * the intended send time, so a late sender shows up as latency), or as a game client does
 * (open loop, `frameEveryMs`: a frame of a few events now and then, each socket on its own
 * jittered clock), or keeping `inflightBatches` unacked batches per socket (closed loop,
 * saturation).
 */
import { createEventSource, createRng, batchFrame } from '../../scenarios/index.ts';
import { createHistogram, encodeHistogram, recordMs } from '../hist.ts';
import type { IngestJob, JobResult } from './jobs.ts';
import { openPool, type PooledPlayer } from './pool.ts';
import { sleep } from '../../../lib/time.ts';

const DRAIN_MS = 5_000;

export async function runIngest(job: IngestJob, send: (m: unknown) => void, go: Promise<void>): Promise<JobResult> {
  const hist = createHistogram();
  const sentAt = new Map<string, number>();
  const errors: Record<string, number> = {};
  const timeline: number[] = [];
  let t0 = 0;
  let measureFrom = Infinity;
  let measureUntil = Infinity;
  let sent = 0;
  let acked = 0;
  let framesSent = 0;
  let bytesSent = 0;
  let unexpectedCloses = 0;
  let running = false;
  const inflight = new Map<number, number>();
  const { batchSize, payloadBytes, inflightBatches, frameEveryMs } = job.scenario;
  const batchSizeMax = Math.max(batchSize, job.scenario.batchSizeMax ?? batchSize);
  const sources = new Map<number, ReturnType<typeof createEventSource>>();

  const sendBatch = (p: PooledPlayer, intendedAt: number, size = batchSize) => {
    const source = sources.get(p.index) as ReturnType<typeof createEventSource>;
    const events = source.batch(Date.now(), size);
    const frame = batchFrame(events);
    if (!p.socket.send(frame)) return;
    framesSent += 1;
    bytesSent += payloadBytes * size;
    for (const e of events) sentAt.set(e.id, intendedAt);
    inflight.set(p.index, (inflight.get(p.index) ?? 0) + events.length);
    if (intendedAt >= measureFrom && intendedAt < measureUntil) sent += events.length;
  };
  const topUp = (p: PooledPlayer) => {
    while (running && p.socket.isOpen() && (inflight.get(p.index) ?? 0) + batchSize <= inflightBatches * batchSize) {
      sendBatch(p, performance.now());
    }
  };

  const { players, ready } = await openPool(job, 2_000, (p) => {
    sources.set(p.index, createEventSource({ seed: job.seed + p.index, payloadBytes, idPrefix: `${job.seed}.${p.index}.` }));
    return {
      onAck: (ids, now) => {
        let n = 0;
        for (const id of ids) {
          const at = sentAt.get(id);
          if (at === undefined) continue;
          sentAt.delete(id);
          n += 1;
          if (at >= measureFrom && at < measureUntil) recordMs(hist, now - at);
          if (now >= measureFrom && now < measureUntil) acked += 1;
        }
        if (t0 > 0) {
          const bucket = Math.floor((now - t0) / 1000);
          while (timeline.length <= bucket) timeline.push(0);
          timeline[bucket] = (timeline[bucket] ?? 0) + n;
        }
        inflight.set(p.index, Math.max(0, (inflight.get(p.index) ?? 0) - n));
        if (job.ratePerSec === 0) topUp(p);
      },
      onErr: (code, id) => {
        errors[code] = (errors[code] ?? 0) + 1;
        if (id !== undefined && sentAt.delete(id)) inflight.set(p.index, Math.max(0, (inflight.get(p.index) ?? 0) - 1));
      },
      onClose: (_code, expected) => {
        if (!expected && t0 > 0) unexpectedCloses += 1;
      },
    };
  });
  send(ready);
  await go;

  t0 = performance.now();
  measureFrom = t0 + job.warmupMs;
  measureUntil = measureFrom + job.durationMs;
  running = true;
  const live = players.filter((p) => p.socket.isOpen());
  if (job.ratePerSec === 0) {
    for (const p of live) topUp(p);
  } else if (frameEveryMs) {
    const [minMs, maxMs] = frameEveryMs;
    const rng = createRng(job.seed);
    for (const p of live) {
      // The first frame anywhere in the first interval, so the sockets do not start in step.
      let next = t0 + rng() * maxMs;
      const tick = () => {
        if (!running) return;
        const now = performance.now();
        while (next <= now && running) {
          sendBatch(p, next, batchSize + Math.floor(rng() * (batchSizeMax - batchSize + 1)));
          next += minMs + rng() * (maxMs - minMs);
        }
        setTimeout(tick, Math.max(0, next - performance.now()));
      };
      setTimeout(tick, Math.max(0, next - performance.now()));
    }
  } else {
    const perSocket = job.ratePerSec / Math.max(1, live.length);
    const intervalMs = (1000 * batchSize) / perSocket;
    live.forEach((p, i) => {
      let next = t0 + (intervalMs * i) / live.length;
      const tick = () => {
        if (!running) return;
        const now = performance.now();
        while (next <= now && running) {
          sendBatch(p, next);
          next += intervalMs;
        }
        setTimeout(tick, Math.max(0, next - performance.now()));
      };
      setTimeout(tick, Math.max(0, next - performance.now()));
    });
  }
  await sleep(job.warmupMs + job.durationMs);
  running = false;
  const drainUntil = performance.now() + DRAIN_MS;
  while (sentAt.size > 0 && performance.now() < drainUntil) await sleep(50);
  for (const p of players) p.socket.close();
  return {
    type: 'result',
    kind: 'ingest',
    sent,
    acked,
    measuredMs: job.durationMs,
    unacked: sentAt.size,
    errors,
    unexpectedCloses,
    ackHist: encodeHistogram(hist),
    offerHist: '',
    sequences: 0,
    offers: 0,
    timeline,
    framesSent,
    bytesSent,
  };
}
