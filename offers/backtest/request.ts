import { PlayPulseError } from '../../lib/errors.ts';
import type { BacktestRequest } from './run.ts';
import { compileDraft } from './run.ts';
import { parseWindow } from './time.ts';

/**
 * A backtest request as the admin API and the CLI take it — `{ files, from, to? }` with
 * times as parse.ts reads them — checked and resolved to epoch ms at submission, so the
 * job is reproducible. The draft is compiled first: a bad draft is refused with its
 * diagnostics (422) and no job is queued.
 */
export function resolveRequest(body: Record<string, unknown>, files: Record<string, string>, now: number): BacktestRequest {
  const from = body.from;
  const to = body.to;
  if (from !== undefined && typeof from !== 'string' && typeof from !== 'number') throw new PlayPulseError('ADMIN_BAD_REQUEST', '`from` must be a string or epoch ms');
  if (to !== undefined && to !== null && typeof to !== 'string' && typeof to !== 'number') throw new PlayPulseError('ADMIN_BAD_REQUEST', '`to` must be a string or epoch ms');
  const window = parseWindow(from === undefined ? undefined : String(from), to === undefined || to === null ? undefined : String(to), now);
  compileDraft(files);
  return { files, from: window.from, to: window.to };
}
