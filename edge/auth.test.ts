/**
 * The edge's synchronous token check against jose's `jwtVerify` (the reference): every
 * token the edge accepts, jose accepts with the same `sub` and `exp`, and the tokens jose
 * refuses for a reason that matters (signature, alg, claims, shape) the edge refuses too.
 */
import { createHmac, createSecretKey } from 'node:crypto';
import fc from 'fast-check';
import { SignJWT, jwtVerify, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { isPlayPulseError } from '../lib/errors.ts';
import { signPlayerToken, singleSecret, verifyPlayerToken } from './auth.ts';

const SECRET = 'unit-test-secret-0123456789abcdef';
const key = createSecretKey(Buffer.from(SECRET, 'utf8'));
const NOW = Math.floor(Date.now() / 1000);

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

async function sign(payload: JWTPayload, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key);
}

/** Signed by hand, for headers jose will not sign (`crit`). */
function hmacSign(header: unknown, payload: unknown, secret = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** What the reference says of a token: the player and expiry, or null when refused. */
async function byJose(token: string): Promise<{ player: string; expMs: number } | null> {
  try {
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'], currentDate: new Date(NOW * 1000) });
    if (typeof payload.sub !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(payload.sub)) return null;
    return { player: payload.sub, expMs: (payload.exp as number) * 1000 };
  } catch {
    return null;
  }
}

function byEdge(token: string | null): { player: string; expMs: number } | string {
  try {
    return verifyPlayerToken(singleSecret(SECRET), token, NOW * 1000);
  } catch (err) {
    if (!isPlayPulseError(err)) throw err;
    return err.code;
  }
}

describe('verifyPlayerToken', () => {
  it('accepts a token from signPlayerToken with its player and expiry', async () => {
    const token = await signPlayerToken(SECRET, 'player.one:7', 600);
    const got = verifyPlayerToken(singleSecret(SECRET), token);
    expect(got.player).toBe('player.one:7');
    expect(Math.abs(got.expMs - (Date.now() + 600_000))).toBeLessThan(2_000);
    expect(await byJose(token)).not.toBeNull();
  });

  it('says AUTH_MISSING without a token and AUTH_INVALID with a clear reason otherwise', async () => {
    expect(byEdge(null)).toBe('AUTH_MISSING');
    expect(byEdge('')).toBe('AUTH_MISSING');
    const good = await sign({ sub: 'p', exp: NOW + 60 });
    const cases: [string, string, RegExp][] = [
      ['two parts', good.split('.').slice(0, 2).join('.'), /three dot-separated parts/],
      ['not JSON header', `${b64('nope')}.${good.split('.')[1]}.${good.split('.')[2]}`, /header/],
      ['wrong secret', await new SignJWT({ sub: 'p', exp: NOW + 60 }).setProtectedHeader({ alg: 'HS256' }).sign(createSecretKey(Buffer.from('other'))), /signature/],
      ['alg none', `${b64({ alg: 'none' })}.${b64({ sub: 'p', exp: NOW + 60 })}.`, /alg must be HS256/],
      ['HS512', await sign({ sub: 'p', exp: NOW + 60 }, { alg: 'HS512' }), /alg must be HS256/],
      ['crit header', hmacSign({ alg: 'HS256', crit: ['x'], x: 1 }, { sub: 'p', exp: NOW + 60 }), /crit/],
      ['b64 in crit', hmacSign({ alg: 'HS256', crit: ['b64'], b64: false }, { sub: 'p', exp: NOW + 60 }), /crit/],
      ['expired', await sign({ sub: 'p', exp: NOW }), /"exp" claim timestamp/],
      ['not yet valid', await sign({ sub: 'p', exp: NOW + 60, nbf: NOW + 30 }), /"nbf" claim timestamp/],
      ['no exp', await sign({ sub: 'p' }), /"exp"/],
      ['no sub', await sign({ exp: NOW + 60 }), /"sub"/],
      ['string exp', await sign({ sub: 'p', exp: String(NOW + 60) as unknown as number }), /"exp" claim must be a number/],
      ['bad sub', await sign({ sub: 'a b', exp: NOW + 60 }), /`sub` must be/],
      ['long sub', await sign({ sub: 'x'.repeat(65), exp: NOW + 60 }), /`sub` must be/],
      ['tampered payload', `${good.split('.')[0]}.${b64({ sub: 'admin', exp: NOW + 60 })}.${good.split('.')[2]}`, /signature/],
    ];
    for (const [what, token, reason] of cases) {
      expect(await byJose(token), what).toBeNull();
      let message = '';
      try {
        verifyPlayerToken(singleSecret(SECRET), token, NOW * 1000);
      } catch (err) {
        expect(isPlayPulseError(err) && err.code, what).toBe('AUTH_INVALID');
        message = (err as Error).message;
      }
      expect(message, what).toMatch(reason);
    }
  });

  it('never accepts what jose refuses, and agrees with it on well-formed tokens (property)', async () => {
    // Mostly valid tokens, each part sometimes wrong, so both answers are common.
    const often = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>) => fc.oneof({ arbitrary: good, weight: 5 }, { arbitrary: bad, weight: 1 });
    const claims = fc.record(
      {
        sub: often(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/), fc.oneof(fc.string({ maxLength: 70 }), fc.integer())),
        exp: often(fc.integer({ min: NOW + 1, max: NOW + 100 }), fc.oneof(fc.integer({ min: NOW - 100, max: NOW }), fc.constant('soon'))),
        nbf: often(fc.integer({ min: NOW - 100, max: NOW }), fc.integer({ min: NOW + 1, max: NOW + 100 })),
        iat: often(fc.integer({ min: 0, max: NOW }), fc.boolean()),
      },
      { requiredKeys: [] },
    );
    const header = fc.record({ alg: often(fc.constant('HS256'), fc.constantFrom('HS384', 'none', 'RS256')), typ: fc.constantFrom('JWT', 'at+jwt') }, { requiredKeys: ['alg'] });
    // A token jose could sign, then maybe one character of it changed.
    const flips = fc.option(fc.tuple(fc.nat(), fc.constantFrom(...'AQgw_-.=x'.split(''))), { nil: undefined, freq: 4 });
    const tokens = fc.tuple(claims, header, flips);
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(tokens, async ([payload, head, flip]) => {
        let token = `${b64(head)}.${b64(payload)}.`;
        if (head.alg === 'HS256') token = await sign(payload as JWTPayload, head);
        if (flip) {
          const i = flip[0] % token.length;
          token = token.slice(0, i) + flip[1] + token.slice(i + 1);
        }
        const reference = await byJose(token);
        const edge = byEdge(token);
        seen[typeof edge === 'string' ? 'refused' : 'accepted']++;
        if (typeof edge !== 'string') expect(edge).toEqual(reference);
        // Only a non-canonical base64url signature (other padding bits, same bytes) may be
        // accepted by jose and refused by the edge, which compares the canonical encoding.
        if (reference && typeof edge === 'string') expect(token.split('.')[2]).not.toBe(Buffer.from(token.split('.')[2] as string, 'base64url').toString('base64url'));
      }),
      { numRuns: 400, seed: 20261125 },
    );
    // Both sides of the property were exercised.
    expect(seen.accepted).toBeGreaterThan(20);
    expect(seen.refused).toBeGreaterThan(20);
  });
});
