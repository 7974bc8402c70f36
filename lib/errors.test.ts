import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, PlayPulseError, type ErrorCode, type ErrorSpec } from './errors.ts';

const docs = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

describe('error registry', () => {
  it.each(Object.keys(ERRORS))('%s is documented in docs/errors.md', (code) => {
    expect(docs).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|`));
  });

  it('maps the wire codes of docs/contract.md §3', () => {
    const specs: ErrorSpec[] = Object.values(ERRORS);
    const wire = specs
      .map((e) => e.wire)
      .filter(Boolean)
      .sort();
    expect(wire).toEqual(['bad_event', 'bad_frame', 'rate_limited', 'unavailable']);
  });

  it('carries code, retriable flag, wire code and status', () => {
    const e = new PlayPulseError('EDGE_UNAVAILABLE');
    expect(e.code).toBe<ErrorCode>('EDGE_UNAVAILABLE');
    expect(e.retriable).toBe(true);
    expect(e.wire).toBe('unavailable');
    expect(new PlayPulseError('ADMIN_UNAUTHORIZED').http).toBe(401);
    expect(new PlayPulseError('CONFIG_INVALID').http).toBe(500);
    expect(e.message).toBe(ERRORS.EDGE_UNAVAILABLE.message);
  });
});
