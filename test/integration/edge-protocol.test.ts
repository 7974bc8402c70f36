/**
 * docs/contract.md §2–§3 against a real edge, real Kafka and Redis, with a client speaking
 * MessagePack through @msgpack/msgpack (not the edge's msgpackr): every frame of the
 * protocol, every error code, the 1009 and 1008 closes, and the token rules.
 */
import { encode } from '@msgpack/msgpack';
import { createConnection } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_AUTH_SECRET } from '../../lib/config.ts';
import { MAX_BATCH_EVENTS } from '../../protocol/limits.ts';
import { TestClient, cleanup, readEvents, startTestEdge, upgradeRefusal, upgradeStatus, type Frame, type TestEdge } from './edge-harness.ts';

let t: TestEdge;

beforeAll(async () => {
  t = await startTestEdge();
});

afterAll(async () => {
  await t.stop();
  await cleanup(t.config);
});

async function client(player = 'p1'): Promise<TestClient> {
  const c = await TestClient.connect(t.url(await t.token(player)));
  await c.next((f) => f.t === 'hello');
  return c;
}

const isErr = (id?: string) => (f: Frame) => f.t === 'err' && (id === undefined || f.id === id);

describe('edge protocol v1', () => {
  it('sends hello first, with the player from the token, a session id and the server time', async () => {
    const c = await client('hello-player');
    const hello = c.frames[0] as Frame;
    expect(hello.t).toBe('hello');
    expect(hello.player).toBe('hello-player');
    expect(typeof hello.session).toBe('string');
    expect(typeof hello.serverTime).toBe('number');
    await c.close();
  });

  it('acks an ev only once it is in Kafka, keyed by the token player, with the record format of protocol/record.ts', async () => {
    const c = await client('rec-player');
    c.send({ t: 'ev', id: 'rec-1', type: 'level.up', ts: 1_700_000_000_000, data: { level: 7 } });
    await c.acked(['rec-1']);
    const hello = c.frames[0] as Frame;
    const { records, keys } = await readEvents(t.config, (rs) => rs.some((r) => r.id === 'rec-1'));
    const i = records.findIndex((r) => r.id === 'rec-1');
    expect(keys[i]).toBe('rec-player');
    expect(records[i]).toMatchObject({ v: 2, player: 'rec-player', id: 'rec-1', type: 'level.up', ts: 1_700_000_000_000, data: { level: 7 }, edge: t.edge.instanceId, session: hello.session });
    expect(typeof records[i]?.recvAt).toBe('number');
    await c.close();
  });

  it('acks a batch; a bad event in it gets bad_event with its id and the rest still goes through', async () => {
    const c = await client('batch-player');
    c.send({
      t: 'evs',
      events: [
        { id: 'b-1', type: 'match.end', data: { result: 'win', duration_s: 300 } },
        { id: 'b-2', type: 'match.end', data: { result: 'surrender' } },
        { id: 'b-3', type: 'no.such.event' },
        { id: 'b-4', type: 'shop.purchase', data: { coins: 5 } },
        { id: 'b-5', type: 'level.up', data: { level: 'ten' } },
        { id: 'b-6', type: 'offer.shown', data: { offerId: 'o-1' } },
      ],
    });
    await c.acked(['b-1', 'b-6']);
    for (const id of ['b-2', 'b-3', 'b-4', 'b-5']) {
      const err = await c.next(isErr(id));
      expect(err.code).toBe('bad_event');
      expect(typeof err.message).toBe('string');
    }
    expect(c.ackedIds()).not.toContain('b-2');
    expect((await c.next(isErr('b-3'))).message).toMatch(/unknown event type/);
    // The frame's valid events are one version-2 record, in order; pp-type only when they share a type.
    const { messages } = await readEvents(t.config, (rs) => rs.some((r) => r.id === 'b-6'));
    const record = messages.find((m) => m.events.some((e) => e.id === 'b-1'));
    expect(record?.key).toBe('batch-player');
    expect(record?.events.map((e) => [e.v, e.id])).toEqual([
      [2, 'b-1'],
      [2, 'b-6'],
    ]);
    expect(record?.headers).not.toHaveProperty('pp-type');
    await c.close();
  });

  it('writes one record per frame: an id twice in a frame is one event, and a one-type frame carries pp-type', async () => {
    const c = await client('frame-player');
    c.send({ t: 'evs', events: [{ id: 'fr-1', type: 'level.up', data: { level: 1 } }, { id: 'fr-2', type: 'level.up', data: { level: 2 } }, { id: 'fr-1', type: 'level.up', data: { level: 1 } }] });
    await c.acked(['fr-1', 'fr-2']);
    const { messages, records } = await readEvents(t.config, (rs) => rs.some((r) => r.id === 'fr-2'));
    expect(records.filter((r) => r.id === 'fr-1')).toHaveLength(1);
    const record = messages.find((m) => m.events.some((e) => e.id === 'fr-2'));
    expect(record?.events.map((e) => e.id)).toEqual(['fr-1', 'fr-2']);
    expect(record?.headers['pp-type']).toBe('level.up');
    await c.close();
  });

  it('refuses undecodable bytes, non-maps, missing or unknown `t` with bad_frame and keeps the connection', async () => {
    const c = await client('frame-player');
    c.sendRaw(Uint8Array.from([0xc1, 0x00]));
    c.send([1, 2, 3]);
    c.send({ id: 'x' });
    c.send({ t: 'nope' });
    c.send({ t: 'evs', events: 'not-an-array' });
    c.send({ t: 'evs', events: [] });
    await c.until(() => c.errors('bad_frame').length === 6);
    c.send({ t: 'ping', n: 1 });
    expect((await c.next((f) => f.t === 'pong')).n).toBe(1);
    await c.close();
  });

  it('refuses a text frame with bad_frame and keeps the connection', async () => {
    const c = await client('text-player');
    c.sendRaw('{"t":"ev"}', false);
    const err = await c.next(isErr());
    expect(err.code).toBe('bad_frame');
    expect(err.message).toMatch(/text frames/);
    c.send({ t: 'ping', n: 'still-open' });
    expect((await c.next((f) => f.t === 'pong')).n).toBe('still-open');
    await c.close();
  });

  it('refuses a 501-event batch whole with bad_frame: nothing of it is acked', async () => {
    const c = await client('big-batch');
    const events = Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => ({ id: `bb-${i}`, type: 'level.up', data: { level: i } }));
    c.send({ t: 'evs', events });
    const err = await c.next(isErr());
    expect(err.code).toBe('bad_frame');
    expect(err.message).toMatch(/at most 500/);
    c.send({ t: 'ev', id: 'after-big', type: 'level.up', data: { level: 1 } });
    await c.acked(['after-big']);
    expect(c.ackedIds().filter((id) => id.startsWith('bb-'))).toEqual([]);
    await c.close();
  });

  it('closes with 1009 on a frame of 64 KiB + 1 byte; a frame of exactly 64 KiB is taken', async () => {
    const c = await client('size-player');
    const fill = (total: number) => {
      const base = encode({ t: 'ping', n: '' }).length;
      let pad = total - base - 3;
      let bytes = encode({ t: 'ping', n: 'x'.repeat(pad) });
      while (bytes.length !== total) {
        pad += total - bytes.length;
        bytes = encode({ t: 'ping', n: 'x'.repeat(pad) });
      }
      return bytes;
    };
    c.sendRaw(fill(64 * 1024));
    await c.next((f) => f.t === 'pong');
    c.sendRaw(fill(64 * 1024 + 1));
    const closed = await c.closed;
    expect(closed.code).toBe(1009);
  });

  it('answers ping with pong echoing n of any type, and without n', async () => {
    const c = await client('ping-player');
    for (const n of [42, 'abc', { nested: [1, 2] }, null, 2n ** 60n]) {
      c.frames.length = 0;
      c.send({ t: 'ping', n });
      const pong = await c.next((f) => f.t === 'pong');
      expect(pong.n).toEqual(n);
    }
    c.frames.length = 0;
    c.send({ t: 'ping' });
    const pong = await c.next((f) => f.t === 'pong');
    expect(Object.hasOwn(pong, 'n')).toBe(false);
    await c.close();
  });

  it('acks a resent id again without writing it twice within a session', async () => {
    const c = await client('dup-player');
    c.send({ t: 'ev', id: 'dup-1', type: 'level.up', data: { level: 1 } });
    await c.acked(['dup-1']);
    c.frames.length = 0;
    c.send({ t: 'ev', id: 'dup-1', type: 'level.up', data: { level: 1 } });
    c.send({ t: 'evs', events: [{ id: 'dup-1', type: 'level.up', data: { level: 1 } }, { id: 'dup-2', type: 'level.up', data: { level: 2 } }] });
    await c.acked(['dup-1', 'dup-2']);
    const { records } = await readEvents(t.config, (rs) => rs.some((r) => r.id === 'dup-2'));
    expect(records.filter((r) => r.id === 'dup-1')).toHaveLength(1);
    await c.close();
  });

  it('stores an event that claims another player under the token player', async () => {
    const c = await client('honest');
    c.send({ t: 'ev', id: 'claim-1', type: 'level.up', player: 'victim', data: { level: 3, player: 'victim' } });
    c.send({ t: 'evs', player: 'victim', events: [{ id: 'claim-2', type: 'level.up', player: 'victim', data: { level: 4 } }] });
    await c.acked(['claim-1', 'claim-2']);
    const { records, keys } = await readEvents(t.config, (rs) => ['claim-1', 'claim-2'].every((id) => rs.some((r) => r.id === id)));
    for (const id of ['claim-1', 'claim-2']) {
      const i = records.findIndex((r) => r.id === id);
      expect(records[i]?.player).toBe('honest');
      expect(keys[i]).toBe('honest');
    }
    await c.close();
  });

  it('decodes 64-bit integers from other implementations; refuses unsafe ones, NaN, extensions, deep nesting and __proto__ keys', async () => {
    const c = await client('limits-player');
    c.send({ t: 'ev', id: 'i64', type: 'level.up', ts: 1_700_000_000_000n, data: { level: 9n } });
    await c.acked(['i64']);
    c.send({ t: 'ev', id: 'huge', type: 'level.up', data: { level: 1, big: 2n ** 60n } });
    expect((await c.next(isErr('huge'))).code).toBe('bad_event');
    c.send({ t: 'ev', id: 'nan', type: 'stats.sample', data: { score: Number.NaN } });
    expect((await c.next(isErr('nan'))).code).toBe('bad_event');
    c.frames.length = 0;
    c.send({ t: 'ev', id: 'ext', type: 'level.up', data: { level: 1, at: new Date() } });
    expect((await c.next(isErr())).message).toMatch(/extension/);
    c.frames.length = 0;
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    c.send({ t: 'ev', id: 'deep', type: 'stats.sample', data: { tags: deep } });
    expect((await c.next(isErr())).message).toMatch(/nesting/);
    c.frames.length = 0;
    c.sendRaw(encode(JSON.parse('{"t":"ev","id":"proto","type":"level.up","data":{"level":1,"__proto__":{"polluted":true}}}')));
    expect((await c.next(isErr())).code).toBe('bad_frame');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await c.close();
  });

  it('answers /healthz, /readyz and /metrics on the edge port', async () => {
    const base = `http://127.0.0.1:${t.edge.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    let ready = await fetch(`${base}/readyz`);
    while (ready.status !== 200) ready = await fetch(`${base}/readyz`);
    expect(((await ready.json()) as { checks: Record<string, boolean> }).checks).toMatchObject({ 'edge-kafka': true, 'edge-redis': true });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const name of ['playpulse_edge_connections', 'playpulse_edge_frames_in_total', 'playpulse_edge_ack_latency_seconds', 'playpulse_edge_produce_batch_events', 'playpulse_edge_errors_total']) {
      expect(metrics).toContain(name);
    }
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});

describe('edge tokens', () => {
  const sign = (claims: Record<string, unknown>, secret = DEV_AUTH_SECRET, alg = 'HS256') =>
    new SignJWT(claims).setProtectedHeader({ alg }).sign(new TextEncoder().encode(secret));
  const now = () => Math.floor(Date.now() / 1000);

  it('refuses missing, malformed, badly signed, expired, exp-less and bad-sub tokens with 401 before the upgrade', async () => {
    expect(await upgradeStatus(t.url())).toBe(401);
    expect(await upgradeStatus(t.url('not-a-jwt'))).toBe(401);
    expect(await upgradeStatus(t.url(await sign({ sub: 'p1', exp: now() + 60 }, 'another-secret-of-enough-length')))).toBe(401);
    expect(await upgradeStatus(t.url(await sign({ sub: 'p1', exp: now() - 10 })))).toBe(401);
    expect(await upgradeStatus(t.url(await sign({ sub: 'p1' })))).toBe(401);
    expect(await upgradeStatus(t.url(await sign({ sub: 'has space', exp: now() + 60 })))).toBe(401);
    expect(await upgradeStatus(t.url(await sign({ sub: 'x'.repeat(65), exp: now() + 60 })))).toBe(401);
    expect(await upgradeStatus(t.url(await sign({ exp: now() + 60 })))).toBe(401);
    expect(await upgradeStatus(t.url(await sign({ sub: 'p1', exp: now() + 60 }, DEV_AUTH_SECRET, 'HS512')))).toBe(401);
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'p1', exp: now() + 60 })).toString('base64url')}.`;
    expect(await upgradeStatus(t.url(unsigned))).toBe(401);
  });

  it('takes the token from Authorization: Bearer', async () => {
    const token = await t.token('bearer-player');
    expect(await upgradeStatus(t.url(), { authorization: 'Bearer nope' })).toBe(401);
    const c = await TestClient.connect(t.url(), { headers: { authorization: `Bearer ${token}` } });
    expect((await c.next((f) => f.t === 'hello')).player).toBe('bearer-player');
    await c.close();
  });

  it('closes with 1008 when the token expires mid-session', async () => {
    const c = await TestClient.connect(t.url(await t.token('short-lived', 2)));
    await c.next((f) => f.t === 'hello');
    const closed = await c.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toBe('token expired');
  });

  it('times out an upgrade request that never completes (slowloris)', async () => {
    const socket = createConnection({ host: '127.0.0.1', port: t.edge.port });
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write('GET /v1/play HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    await new Promise<void>((r) => socket.once('close', () => r()));
    expect(socket.destroyed).toBe(true);
  }, 60_000);
});

describe('edge tokens: key rotation, audience and issuer (PLAYPULSE_AUTH_SECRETS, _AUDIENCE, _ISSUER)', () => {
  const NEW = 'rotation-new-secret-0123456789abcdef';
  const OLD = 'rotation-old-secret-0123456789abcdef';
  const AUD = 'game-x';
  const ISS = 'https://auth.studio.example';
  let r: TestEdge;
  beforeAll(async () => {
    r = await startTestEdge({ env: { PLAYPULSE_AUTH_SECRETS: `k-new:${NEW},k-old:${OLD}`, PLAYPULSE_AUTH_AUDIENCE: AUD, PLAYPULSE_AUTH_ISSUER: ISS } });
  });
  afterAll(async () => {
    await r.stop();
    await cleanup(r.config);
  });
  const now = () => Math.floor(Date.now() / 1000);
  const sign = (secret: string, header: Record<string, unknown>, claims: Record<string, unknown>) =>
    new SignJWT({ exp: now() + 60, aud: AUD, iss: ISS, ...claims }).setProtectedHeader({ alg: 'HS256', ...header }).sign(new TextEncoder().encode(secret));

  it('accepts the current key, and the previous one during the rollover, with or without kid', async () => {
    const tokens = {
      'current kid': await sign(NEW, { kid: 'k-new' }, { sub: 'rot-new' }),
      'previous kid': await sign(OLD, { kid: 'k-old' }, { sub: 'rot-old' }),
      'no kid, current key': await sign(NEW, {}, { sub: 'rot-new-nokid' }),
      'no kid, previous key': await sign(OLD, {}, { sub: 'rot-old-nokid' }),
      'the harness (npm run token) signer': await r.token('rot-harness'),
    };
    for (const [what, token] of Object.entries(tokens)) {
      const c = await TestClient.connect(r.url(token));
      expect((await c.next((f) => f.t === 'hello')).player, what).toBe(String(JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).sub));
      await c.close();
    }
  });

  it('refuses an unknown kid, a kid with another key, and a missing or other aud or iss with 401 AUTH_INVALID', async () => {
    const cases: [string, string, RegExp][] = [
      ['unknown kid', await sign(NEW, { kid: 'k-gone' }, { sub: 'p1' }), /unknown key id/],
      ['previous kid, current key', await sign(NEW, { kid: 'k-old' }, { sub: 'p1' }), /signature/],
      ['a key not configured', await sign('not-a-configured-secret-0123456789', {}, { sub: 'p1' }), /signature/],
      ['no aud', await sign(NEW, { kid: 'k-new' }, { sub: 'p1', aud: undefined }), /"aud"/],
      ['other aud', await sign(NEW, { kid: 'k-new' }, { sub: 'p1', aud: 'game-y' }), /"aud"/],
      ['no iss', await sign(NEW, { kid: 'k-new' }, { sub: 'p1', iss: undefined }), /"iss"/],
      ['other iss', await sign(NEW, { kid: 'k-new' }, { sub: 'p1', iss: 'https://evil.example' }), /"iss"/],
    ];
    for (const [what, token, reason] of cases) {
      const got = await upgradeRefusal(r.url(token));
      expect(got.status, what).toBe(401);
      expect(got.body?.error, what).toBe('AUTH_INVALID');
      expect(got.body?.message, what).toMatch(reason);
    }
  });

  it('without PLAYPULSE_AUTH_AUDIENCE / _ISSUER, the default edge ignores aud and iss', async () => {
    const token = await sign(DEV_AUTH_SECRET, {}, { sub: 'any-aud', aud: 'whatever', iss: 'anyone' });
    expect(await upgradeStatus(t.url(token))).toBe(101);
  });
});
