import { describe, expect, it } from 'vitest';
import { ConnectionCaps } from './caps.ts';

describe('ConnectionCaps', () => {
  it('refuses past the edge cap and admits again after a release', () => {
    const caps = new ConnectionCaps(2, 0);
    expect(caps.admit(null)).toBeNull();
    expect(caps.admit(null)).toBeNull();
    expect(caps.admit(null)).toBe('edge');
    caps.release(null);
    expect(caps.admit(null)).toBeNull();
    expect(caps.open).toBe(2);
  });

  it('counts per address only when that cap is on, and forgets an address with no socket left', () => {
    const caps = new ConnectionCaps(100, 2);
    expect(caps.perAddress).toBe(true);
    expect(caps.admit('10.0.0.1')).toBeNull();
    expect(caps.admit('10.0.0.1')).toBeNull();
    expect(caps.admit('10.0.0.1')).toBe('address');
    expect(caps.admit('10.0.0.2')).toBeNull();
    expect(caps.open).toBe(3);
    caps.release('10.0.0.2');
    expect(caps.addresses).toBe(1);
    caps.release('10.0.0.1');
    expect(caps.admit('10.0.0.1')).toBeNull();
    expect(new ConnectionCaps(100, 0).perAddress).toBe(false);
  });

  it('a refused socket takes no place', () => {
    const caps = new ConnectionCaps(1, 1);
    expect(caps.admit('a')).toBeNull();
    expect(caps.admit('b')).toBe('edge');
    caps.release('a');
    expect(caps.admit('b')).toBeNull();
    expect(caps.addresses).toBe(1);
  });
});
