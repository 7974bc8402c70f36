/**
 * Idle connections from one generator: opens its sockets, reports them held, and keeps them
 * open without traffic until the harness says `go`, then closes them.
 */
import { encodeHistogram, createHistogram } from '../hist.ts';
import type { IdleJob, JobResult } from './jobs.ts';
import { openPool } from './pool.ts';

export async function runIdle(job: IdleJob, send: (m: unknown) => void, go: Promise<void>): Promise<JobResult> {
  let unexpectedCloses = 0;
  let holding = false;
  const { players, ready } = await openPool(job, job.connectRatePerSec, () => ({
    onClose: (_code, expected) => {
      if (!expected && holding) unexpectedCloses += 1;
    },
  }));
  holding = true;
  send(ready);
  await go;
  holding = false;
  for (const p of players) p.socket.close();
  const empty = encodeHistogram(createHistogram());
  return {
    type: 'result',
    kind: 'idle',
    sent: 0,
    acked: 0,
    measuredMs: 0,
    unacked: 0,
    errors: {},
    unexpectedCloses,
    ackHist: empty,
    offerHist: empty,
    sequences: 0,
    offers: 0,
    timeline: [],
    framesSent: 0,
    bytesSent: 0,
  };
}
