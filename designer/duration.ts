/** Designer durations: a positive integer and one unit, `s`, `m`, `h` or `d` (docs/contract.md §4). */
export const DURATION_PATTERN = '^[0-9]+(s|m|h|d)$';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds, or null when `text` is not a duration. Zero is allowed (`0s`). */
export function parseDuration(text: string): number | null {
  const m = /^([0-9]{1,9})(s|m|h|d)$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** The shortest exact designer spelling of a duration in ms (for messages). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) {
    if (ms % size === 0 && ms >= size) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}
