import { PlayPulseError } from '../../lib/errors.ts';
import { parseDuration } from '../../designer/duration.ts';

/**
 * Backtest window bounds as a designer writes them: ISO 8601 (`2026-11-25T10:00:00Z`),
 * epoch milliseconds, `now`, or a designer duration meaning that long before `now`
 * (`90m`, `24h`, `7d`). `now` is passed in so a parsed window is reproducible.
 */
export function parseTime(text: string, now: number, name = 'time'): number {
  const s = text.trim();
  if (s === 'now') return now;
  if (/^[0-9]{10,15}$/.test(s)) return Number(s);
  const ago = parseDuration(s);
  if (ago !== null) return now - ago;
  if (/^\d{4}-\d{2}-\d{2}/.test(s)) {
    const t = Date.parse(s);
    if (Number.isFinite(t)) return t;
  }
  throw new PlayPulseError(
    'ADMIN_BAD_REQUEST',
    `${name} "${text}" is not a time: use ISO 8601 (2026-11-25T10:00:00Z), epoch ms, "now", or a duration ago such as 24h`,
  );
}

export interface Window {
  readonly from: number;
  readonly to: number;
}

/** `from` is required, `to` defaults to `now`; `from` must come before `to`. */
export function parseWindow(from: string | undefined, to: string | undefined, now: number): Window {
  if (from === undefined || from.trim() === '') throw new PlayPulseError('ADMIN_BAD_REQUEST', 'a backtest needs --from (the start of the window)');
  const f = parseTime(from, now, 'from');
  const t = to === undefined || to.trim() === '' ? now : parseTime(to, now, 'to');
  if (!(f < t)) throw new PlayPulseError('ADMIN_BAD_REQUEST', `the window is empty: from ${new Date(f).toISOString()} is not before to ${new Date(t).toISOString()}`);
  return { from: f, to: t };
}
