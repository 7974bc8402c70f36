/**
 * A load-generator process (forked by the harness, separate from the system under test).
 * Runs one job: connects, reports `ready`, waits for `go`, runs, reports `result`, exits.
 * It exits as well when the harness disconnects, so no generator outlives a bench run.
 */
import { runComeback } from './comeback-job.ts';
import { runIdle } from './idle-job.ts';
import { runIngest } from './ingest-job.ts';
import type { Job, JobResult, ToGenerator } from './jobs.ts';

function post(m: unknown): void {
  if (process.send) process.send(m);
}

let release: () => void = () => undefined;
const go = new Promise<void>((r) => {
  release = r;
});

function run(job: Job): Promise<JobResult> {
  switch (job.kind) {
    case 'ingest':
      return runIngest(job, post, go);
    case 'comeback':
      return runComeback(job, post, go);
    case 'idle':
      return runIdle(job, post, go);
  }
}

process.on('message', (m: ToGenerator) => {
  if (m.type === 'go') release();
  else if (m.type === 'stop') process.exit(0);
  else if (m.type === 'job') {
    run(m.job).then(
      (result) => {
        post(result);
        setTimeout(() => process.exit(0), 200);
      },
      (err: unknown) => {
        post({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        setTimeout(() => process.exit(1), 200);
      },
    );
  }
});
process.on('disconnect', () => process.exit(0));
