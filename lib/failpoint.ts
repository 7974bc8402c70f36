import type { FailPoint, FailPointStep } from './config.ts';
import type { Logger } from './log.ts';

/**
 * The test-only fail point (PLAYPULSE_FAILPOINT, docs/operations.md §7): a processors
 * process SIGKILLs itself at one step of its n-th chunk, so the integrity suite can kill it
 * exactly between two writes instead of at a moment a timer picked; or, with `:stop`,
 * SIGSTOPs itself there, so the test can let its group session expire and resume it (SIGCONT)
 * as a zombie member holding a half-done chunk.
 *
 * `failPointProbe` returns null when no fail point is set (or another step is), so the hot
 * path pays one null check. Otherwise the probe counts the calls for its step (over every
 * partition of the process) and at the n-th one writes one line to stderr (a SIGKILL leaves
 * no time to flush the logger) and kills or stops the process. A stopped process goes on
 * from the same line when it is continued.
 */
export type FailPointProbe = (where: string) => void;

export function failPointProbe(point: FailPoint | null, step: FailPointStep, log: Logger): FailPointProbe | null {
  if (point === null || point.step !== step) return null;
  const spec = `${point.step}:${point.chunk}${point.action === 'stop' ? ':stop' : ''}`;
  log.warn({ failPoint: spec }, `PLAYPULSE_FAILPOINT set: this process ${point.action === 'stop' ? 'stops' : 'kills'} itself there (test-only)`);
  let reached = 0;
  return (where) => {
    reached += 1;
    if (reached !== point.chunk) return;
    const signal = point.action === 'stop' ? 'SIGSTOP' : 'SIGKILL';
    process.stderr.write(`PLAYPULSE_FAILPOINT ${spec} reached (${where}); ${signal}\n`);
    process.kill(process.pid, signal);
    if (point.action === 'stop') process.stderr.write(`PLAYPULSE_FAILPOINT ${spec} continued (${where})\n`);
  };
}
