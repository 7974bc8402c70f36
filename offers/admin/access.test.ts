import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { AdminRateLimit, AdminTokens, allows } from './access.ts';

const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

describe('admin access', () => {
  it('orders the roles viewer < editor < publisher', () => {
    expect(allows('viewer', 'viewer')).toBe(true);
    expect(allows('viewer', 'editor')).toBe(false);
    expect(allows('editor', 'editor')).toBe(true);
    expect(allows('editor', 'publisher')).toBe(false);
    expect(allows('publisher', 'viewer')).toBe(true);
    expect(allows('publisher', 'publisher')).toBe(true);
  });

  it('names the caller of a known bearer token, null for anything else', () => {
    const tokens = new AdminTokens([
      { name: 'vera', role: 'viewer', token: 'v'.repeat(32) },
      { name: 'pia', role: 'publisher', token: 'p'.repeat(40) },
    ]);
    expect(tokens.identify(req(`Bearer ${'v'.repeat(32)}`))).toEqual({ name: 'vera', role: 'viewer' });
    expect(tokens.identify(req(`bearer   ${'p'.repeat(40)} `))).toEqual({ name: 'pia', role: 'publisher' });
    for (const bad of [undefined, '', 'Bearer', `Bearer ${'v'.repeat(31)}`, `Bearer ${'v'.repeat(33)}`, `Basic ${'v'.repeat(32)}`, 'v'.repeat(32), `Bearer ${'v'.repeat(32)} x`]) {
      expect(tokens.identify(req(bad)), String(bad)).toBeNull();
    }
  });

  it('lets a caller spend its burst, then says how long to wait; callers do not share a bucket', () => {
    const limit = new AdminRateLimit(2, 3);
    const t = 1_000_000;
    expect([limit.take('a', t), limit.take('a', t), limit.take('a', t)]).toEqual([0, 0, 0]);
    expect(limit.take('a', t)).toBe(500);
    expect(limit.take('b', t)).toBe(0);
    expect(limit.take('a', t + 250)).toBe(250);
    expect(limit.take('a', t + 500)).toBe(0);
    // Rate 0: no limit.
    const off = new AdminRateLimit(0, 1);
    expect([off.take('a', t), off.take('a', t), off.take('a', t)]).toEqual([0, 0, 0]);
  });

  it('forgets idle callers once it tracks too many, and keeps limiting', () => {
    const limit = new AdminRateLimit(1, 1);
    for (let i = 0; i < 10_000; i++) limit.take(`c${i}`, 0);
    expect(limit.take('c0', 0)).toBe(1000);
    // Past the cap, callers idle a full refill are dropped; a new one starts with a full bucket.
    expect(limit.take('new', 2_000)).toBe(0);
    expect(limit.take('new', 2_000)).toBe(1000);
  });
});
