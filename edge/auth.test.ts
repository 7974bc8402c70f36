/**
 * The edge's synchronous token check against jose's `jwtVerify` (the reference): every
 * token the edge accepts, jose accepts with the same `sub` and `exp`, and the tokens jose
 * refuses for a reason that matters (signature, alg, claims, shape) the edge refuses too.
 */
import { createHmac, createSecretKey } from 'node:crypto';
import fc from 'fast-check';
import { SignJWT, decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { describe, expect, it } from 'vitest';
import { isPlayPulseError } from '../lib/errors.ts';
import type { PlayerAuth } from '../lib/config.ts';
import { signPlayerToken, signPlayerTokenWith, singleSecret, verifyPlayerToken } from './auth.ts';

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

/** What the edge says of a token under `auth`: the player, or the error code and message. */
function check(auth: PlayerAuth, token: string): { player: string } | { code: string; message: string } {
  try {
    return { player: verifyPlayerToken(auth, token, NOW * 1000).player };
  } catch (err) {
    if (!isPlayPulseError(err)) throw err;
    return { code: err.code, message: err.message };
  }
}

const secretKey = (secret: string) => createSecretKey(Buffer.from(secret, 'utf8'));

/** jose's verdict with the key `kid` names (a kid-less token: each key in turn), and `options`. */
async function joseAccepts(auth: PlayerAuth, token: string, options: JWTVerifyOptions = {}): Promise<boolean> {
  const kid = decodeProtectedHeader(token).kid;
  const keys = kid === undefined || auth.keys[0]?.kid === null ? auth.keys : auth.keys.filter((k) => k.kid === kid);
  for (const k of keys) {
    try {
      await jwtVerify(token, secretKey(k.secret), { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'], currentDate: new Date(NOW * 1000), ...options });
      return true;
    } catch {
      // the next key
    }
  }
  return false;
}

describe('verifyPlayerToken: key rotation', () => {
  const NEW = 'the-new-secret-0123456789abcdefgh';
  const OLD = 'the-old-secret-0123456789abcdefgh';
  const rollover: PlayerAuth = { keys: [{ kid: 'k-new', secret: NEW }, { kid: 'k-old', secret: OLD }], audience: null, issuer: null };
  const after: PlayerAuth = { keys: [{ kid: 'k-new', secret: NEW }], audience: null, issuer: null };
  const token = (secret: string, header: Record<string, unknown>, sub = 'p1') =>
    new SignJWT({ sub, exp: NOW + 60 }).setProtectedHeader({ alg: 'HS256', ...header }).sign(secretKey(secret));

  it('during a rollover accepts the old kid, the new kid, and kid-less tokens of either key', async () => {
    const accepted = [
      await token(OLD, { kid: 'k-old' }, 'old-kid'),
      await token(NEW, { kid: 'k-new' }, 'new-kid'),
      await token(OLD, {}, 'old-no-kid'),
      await token(NEW, {}, 'new-no-kid'),
    ];
    for (const t of accepted) {
      expect(await joseAccepts(rollover, t)).toBe(true);
      expect(check(rollover, t)).toEqual({ player: decodeJwt(t).sub });
    }
  });

  it('checks a token naming a kid with that key only, and refuses an unknown or non-string kid', async () => {
    const cases: [string, string, RegExp][] = [
      ['old kid, new key', await token(NEW, { kid: 'k-old' }), /signature verification failed/],
      ['new kid, old key', await token(OLD, { kid: 'k-new' }), /signature verification failed/],
      ['unknown kid, a valid key', await token(NEW, { kid: 'k-gone' }), /unknown key id "k-gone"/],
      ['numeric kid', await token(NEW, { kid: 7 }), /"kid" header parameter must be a string/],
      ['kid-less, another key', await token('some-other-secret-0123456789abcdef', {}), /signature verification failed/],
    ];
    for (const [what, t, reason] of cases) {
      expect(await joseAccepts(rollover, t), what).toBe(false);
      const got = check(rollover, t);
      expect(got, what).toMatchObject({ code: 'AUTH_INVALID' });
      expect((got as { message: string }).message, what).toMatch(reason);
    }
  });

  it('once the old key is removed, refuses its tokens with and without kid', async () => {
    expect(check(after, await token(OLD, { kid: 'k-old' }))).toMatchObject({ code: 'AUTH_INVALID', message: expect.stringMatching(/unknown key id/) });
    expect(check(after, await token(OLD, {}))).toMatchObject({ code: 'AUTH_INVALID', message: expect.stringMatching(/signature/) });
    expect(check(after, await token(NEW, { kid: 'k-new' }))).toEqual({ player: 'p1' });
  });

  it('signs with the current key and names its kid', async () => {
    const t = await signPlayerTokenWith(rollover, 'signed', 600);
    expect(decodeProtectedHeader(t)).toMatchObject({ alg: 'HS256', kid: 'k-new' });
    expect(check(after, t)).toEqual({ player: 'signed' });
    expect(check({ ...rollover, keys: [{ kid: 'k-new', secret: OLD }] }, t)).toMatchObject({ code: 'AUTH_INVALID' });
  });

  it('with a single secret (no key ids) ignores the kid a token names, as before rotation', async () => {
    const t = await token(SECRET, { kid: 'anything' });
    expect(await joseAccepts(singleSecret(SECRET), t)).toBe(true);
    expect(check(singleSecret(SECRET), t)).toEqual({ player: 'p1' });
    const t2 = await signPlayerTokenWith(singleSecret(SECRET), 'p2', 60);
    expect(decodeProtectedHeader(t2).kid).toBeUndefined();
  });
});

describe('verifyPlayerToken: audience and issuer', () => {
  const auth: PlayerAuth = { ...singleSecret(SECRET), audience: 'game-x', issuer: 'https://auth.studio.example' };
  const options: JWTVerifyOptions = { audience: 'game-x', issuer: 'https://auth.studio.example' };
  const base = { sub: 'p1', exp: NOW + 60 };

  it('accepts a token with the audience (alone or among others) and the issuer', async () => {
    for (const aud of ['game-x', ['other-game', 'game-x']]) {
      const t = await sign({ ...base, aud, iss: 'https://auth.studio.example' });
      expect(await joseAccepts(auth, t, options)).toBe(true);
      expect(check(auth, t)).toEqual({ player: 'p1' });
    }
  });

  it('refuses a missing or other audience or issuer, as jose does', async () => {
    const iss = 'https://auth.studio.example';
    const cases: [string, string, RegExp][] = [
      ['no aud', await sign({ ...base, iss }), /missing required "aud" claim/],
      ['other aud', await sign({ ...base, aud: 'game-y', iss }), /unexpected "aud" claim value/],
      ['aud array without it', await sign({ ...base, aud: ['game-y', 'game-z'], iss }), /unexpected "aud" claim value/],
      ['aud of another case', await sign({ ...base, aud: 'GAME-X', iss }), /unexpected "aud" claim value/],
      ['no iss', await sign({ ...base, aud: 'game-x' }), /missing required "iss" claim/],
      ['other iss', await sign({ ...base, aud: 'game-x', iss: 'https://evil.example' }), /unexpected "iss" claim value/],
      ['iss prefix', await sign({ ...base, aud: 'game-x', iss: 'https://auth.studio.example/x' }), /unexpected "iss" claim value/],
    ];
    for (const [what, t, reason] of cases) {
      expect(await joseAccepts(auth, t, options), what).toBe(false);
      const got = check(auth, t);
      expect(got, what).toMatchObject({ code: 'AUTH_INVALID' });
      expect((got as { message: string }).message, what).toMatch(reason);
    }
  });

  it('checks each of them only when configured', async () => {
    const t = await sign({ ...base, aud: 'anything', iss: 'anyone' });
    expect(check(singleSecret(SECRET), t)).toEqual({ player: 'p1' });
    expect(check({ ...auth, issuer: null }, await sign({ ...base, aud: 'game-x' }))).toEqual({ player: 'p1' });
    expect(check({ ...auth, audience: null }, await sign({ ...base, iss: 'https://auth.studio.example' }))).toEqual({ player: 'p1' });
  });

  it('signs the configured audience and issuer, or the ones given', async () => {
    expect(check(auth, await signPlayerTokenWith(auth, 'p3', 60))).toEqual({ player: 'p3' });
    expect(check(auth, await signPlayerTokenWith(auth, 'p3', 60, { audience: 'game-y' }))).toMatchObject({ code: 'AUTH_INVALID' });
    expect(check(auth, await signPlayerTokenWith(auth, 'p3', 60, { issuer: 'someone' }))).toMatchObject({ code: 'AUTH_INVALID' });
  });
});
