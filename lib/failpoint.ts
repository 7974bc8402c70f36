import type { FailPoint, FailPointStep } from './config.ts';
import type { Logger } from './log.ts';

/**
 * The test-only fail point (PLAYPULSE_FAILPOINT, docs/operations.md §7): a processors
 * process SIGKILLs itself at one step of its n-th chunk, so the integrity suite can kill it
 * exactly between two writes instead of at a moment a timer picked.
 *
 * `failPointProbe` returns null when no fail point is set (or another step is), so the hot
 * path pays one null check. Otherwise the probe counts the calls for its step (over every
 * partition of the process) and at the n-th one writes one line to stderr (a SIGKILL leaves
 * no time to flush the logger) and kills the process.
 */
export type FailPointProbe = (where: string) => void;

export function failPointProbe(point: FailPoint | null, step: FailPointStep, log: Logger): FailPointProbe | null {
  if (point === null || point.step !== step) return null;
  log.warn({ failPoint: `${point.step}:${point.chunk}` }, 'PLAYPULSE_FAILPOINT set: this process kills itself there (test-only)');
  let reached = 0;
  return (where) => {
    reached += 1;
    if (reached !== point.chunk) return;
    process.stderr.write(`PLAYPULSE_FAILPOINT ${step}:${point.chunk} reached (${where}); SIGKILL\n`);
    process.kill(process.pid, 'SIGKILL');
  };
}
