/**
 * Event → offer latency from one generator: pre-connected fresh players each play the
 * comeback sequence (one loss per frame, `matchGapMs` apart), started at a fixed rate from
 * `warmupMs` after `go` (the background ingest's warm-up, jobs.ts). The clock runs from the
 * send of the triggering event to the offer's arrival; the offer is then reported as shown,
 * as a game client would.
 */
import { batchFrame, comebackSequence, offerShownEvent } from '../../scenarios/index.ts';
import { createHistogram, encodeHistogram, recordMs } from '../hist.ts';
import type { ComebackJob, JobResult } from './jobs.ts';
import { openPool } from './pool.ts';
import { sleep } from '../../../lib/time.ts';

export async function runComeback(job: ComebackJob, send: (m: unknown) => void, go: Promise<void>): Promise<JobResult> {
  const offerHist = createHistogram();
  const ackHist = createHistogram();
  const errors: Record<string, number> = {};
  const triggerAt = new Map<number, number>();
  const sentAt = new Map<string, number>();
  let offers = 0;
  let sequences = 0;
  let sent = 0;
  let acked = 0;
  let unexpectedCloses = 0;
  let started = false;
  const { lossesToTrigger, matchGapMs, offerTimeoutMs, ruleId } = job.scenario;

  const { players, ready } = await openPool(job, 1_000, (p) => ({
    onAck: (ids, now) => {
      for (const id of ids) {
        const at = sentAt.get(id);
        if (at === undefined) continue;
        sentAt.delete(id);
        acked += 1;
        recordMs(ackHist, now - at);
      }
    },
    onErr: (code) => {
      errors[code] = (errors[code] ?? 0) + 1;
    },
    onOffer: (offer, now) => {
      const at = triggerAt.get(p.index);
      if (at === undefined || offer.ruleId !== ruleId) return;
      triggerAt.delete(p.index);
      offers += 1;
      recordMs(offerHist, now - at);
      const shown = offerShownEvent(`${p.playerId}.shown`, offer.id, Date.now());
      p.socket.send(batchFrame([shown]));
    },
    onClose: (_code, expected) => {
      if (!expected && started) unexpectedCloses += 1;
    },
  }));
  send(ready);
  await go;
  started = true;

  const t0 = performance.now() + job.warmupMs;
  const gapMs = 1000 / Math.max(0.001, job.sequencesPerSec);
  const count = Math.min(players.length, Math.floor((job.durationMs / 1000) * job.sequencesPerSec));
  for (let i = 0; i < count; i++) {
    const p = players[i];
    if (!p) break;
    const wait = t0 + i * gapMs - performance.now();
    if (wait > 0) await sleep(wait);
    if (!p.socket.isOpen()) continue;
    sequences += 1;
    const events = comebackSequence(`${p.playerId}.`, lossesToTrigger, Date.now());
    events.forEach((ev, k) => {
      setTimeout(() => {
        const now = performance.now();
        if (!p.socket.send(batchFrame([ev]))) return;
        sent += 1;
        sentAt.set(ev.id, now);
        if (k === events.length - 1) triggerAt.set(p.index, now);
      }, k * matchGapMs);
    });
  }
  const until = performance.now() + lossesToTrigger * matchGapMs + offerTimeoutMs;
  while (triggerAt.size > 0 && performance.now() < until) await sleep(50);
  await sleep(200);
  for (const p of players) p.socket.close();
  return {
    type: 'result',
    kind: 'comeback',
    sent,
    acked,
    measuredMs: job.durationMs,
    unacked: sentAt.size,
    errors,
    unexpectedCloses,
    ackHist: encodeHistogram(ackHist),
    offerHist: encodeHistogram(offerHist),
    sequences,
    offers,
    timeline: [],
    framesSent: sent,
    bytesSent: 0,
  };
}
