/**
 * The scratch namespace of one backtest: `<keyPrefix>:bt:<jobId>`, with one sub-namespace
 * per bundle compared (`…:draft`, `…:published`). Every key a backtest writes — player
 * state, decisions, limits, budgets, stats — lives under it; it is deleted when the job
 * ends, whether it succeeded or failed.
 */
export function scratchPrefix(keyPrefix: string, jobId: string): string {
  return `${keyPrefix}:bt:${jobId}`;
}
