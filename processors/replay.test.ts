import { describe, expect, it } from 'vitest';
import { parsePosition } from './replay.ts';

describe('parsePosition', () => {
  it('reads ISO times, epoch ms, offsets and earliest', () => {
    expect(parsePosition('earliest')).toEqual({ kind: 'earliest' });
    expect(parsePosition('2026-11-25T10:00:00Z')).toEqual({ kind: 'time', ms: Date.parse('2026-11-25T10:00:00Z') });
    expect(parsePosition('1764064800000')).toEqual({ kind: 'time', ms: 1_764_064_800_000 });
    expect(parsePosition('12345')).toEqual({ kind: 'offset', offset: 12_345 });
    expect(parsePosition('offset:1764064800000')).toEqual({ kind: 'offset', offset: 1_764_064_800_000 });
    expect(parsePosition('ms:5')).toEqual({ kind: 'time', ms: 5 });
    expect(() => parsePosition('yesterday')).toThrow(/not a position/);
  });
});
