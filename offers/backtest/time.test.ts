import { describe, expect, it } from 'vitest';
import { parseTime, parseWindow } from './time.ts';
import { isPlayPulseError } from '../../lib/errors.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');

describe('parseTime', () => {
  it.each([
    ['now', NOW],
    ['2026-11-25T10:00:00Z', Date.parse('2026-11-25T10:00:00Z')],
    ['2026-11-24', Date.parse('2026-11-24')],
    ['1764064800000', 1764064800000],
    ['90m', NOW - 90 * 60_000],
    ['24h', NOW - 86_400_000],
    ['7d', NOW - 7 * 86_400_000],
  ])('reads %s', (text, expected) => {
    expect(parseTime(text, NOW)).toBe(expected);
  });

  it.each(['yesterday', '', '12', '2026-13-45', '-1h'])('refuses %j with a clear error', (text) => {
    expect(() => parseTime(text, NOW, 'from')).toThrow(/from .* is not a time/);
  });
});

describe('parseWindow', () => {
  it('defaults `to` to now', () => {
    expect(parseWindow('1h', undefined, NOW)).toEqual({ from: NOW - 3_600_000, to: NOW });
  });

  it('refuses a missing from and an empty window', () => {
    for (const [f, t] of [[undefined, 'now'], ['now', '1h']] as const) {
      try {
        parseWindow(f, t, NOW);
        expect.unreachable();
      } catch (err) {
        expect(isPlayPulseError(err, 'ADMIN_BAD_REQUEST')).toBe(true);
      }
    }
  });
});
