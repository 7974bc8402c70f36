/**
 * Bad input and abuse at the edge, asserted through the shared invariant checks: whatever
 * hostile clients do, nothing is stored that was not acked to the right player, nothing
 * acked is lost, no state appears under a player nobody authenticated as, and the edge
 * stays up for everyone else. (test/integration/edge-*.test.ts covers each refusal's exact
 * wire shape; these tests add the invariants across all of them in one running system.)
 */
import { createConnection } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signPlayerToken } from '../../edge/auth.ts';
import { assertAppliedOnce, assertNoLostAcks } from './checks.ts';
import { AUTH_SECRET, createWorld, type World } from './env.ts';
import { integrityKafka, waitConsumed } from './kafka-tools.ts';
import { readPlayerStates, readTopicRecords, scanPlayersWithState } from './readers.ts';
import { expectedStates } from './stream.ts';
import { httpGet, startRoles, type RoleProcess } from '../faults/processes.ts';
import { TestClient, UpgradeRefused, type WireEvent } from '../faults/client.ts';
import { sleep } from '../../lib/time.ts';

const RATE = 50;
const BURST = 100;
const CONN_CAP = 3;

function b64url(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

async function hs256(secret: string, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

describe('abuse at the edge', () => {
  let world: World;
  let edge: RoleProcess;
  let url = '';
  /** Every event any test here got acked, with the player of its token. */
  const acked: Array<{ player: string; id: string }> = [];
  const sentEvents: Array<{ player: string; event: WireEvent }> = [];
  /** Flood events the edge refused by id, and all flood events by id. */
  const floodRefused = new Set<string>();
  const floodById = new Map<string, WireEvent>();

  beforeAll(async () => {
    world = createWorld({
      env: { PLAYPULSE_RATE_PER_SEC: String(RATE), PLAYPULSE_RATE_BURST: String(BURST), PLAYPULSE_MAX_CONNS_PER_PLAYER: String(CONN_CAP) },
    });
    await world.createTopics();
    const [e, p] = await Promise.all([startRoles('edge', world.env), startRoles('processors', world.env)]);
    world.processes.push(e, p);
    edge = e;
    url = `ws://127.0.0.1:${edge.healthPort}/v1/play`;
  }, 120_000);

  afterAll(async () => {
    await world.cleanup();
  });

  it('refuses every bad token with 401 before the upgrade', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = { sub: 'mallory', exp: now + 600 };
    const variants: Record<string, string | null> = {
      missing: null,
      malformed: 'not.a.jwt',
      garbage: 'x'.repeat(2_000),
      'alg none': `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(good)}.`,
      'alg none, signature kept': `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(good)}.${(await hs256(AUTH_SECRET, good)).split('.')[2]}`,
      'wrong secret': await hs256('another-secret-entirely-0123456789', good),
      expired: await hs256(AUTH_SECRET, { sub: 'mallory', exp: now - 10 }),
      'not yet valid': await hs256(AUTH_SECRET, { sub: 'mallory', exp: now + 600, nbf: now + 300 }),
      'no exp': await hs256(AUTH_SECRET, { sub: 'mallory' }),
      'bad sub': await hs256(AUTH_SECRET, { sub: 'mal lory/../x', exp: now + 600 }),
      'HS512 with the secret': await new SignJWT(good).setProtectedHeader({ alg: 'HS512' }).sign(new TextEncoder().encode(AUTH_SECRET)),
    };
    const outcomes: Record<string, number | string> = {};
    for (const [name, token] of Object.entries(variants)) {
      for (const bearer of [false, true]) {
        try {
          const c = await TestClient.connect(url, token, { bearer, timeoutMs: 5_000 });
          c.close();
          outcomes[`${name}${bearer ? ' (bearer)' : ''}`] = 'upgraded';
        } catch (err) {
          outcomes[`${name}${bearer ? ' (bearer)' : ''}`] = err instanceof UpgradeRefused ? err.status : String(err);
        }
      }
    }
    expect(Object.values(outcomes).every((o) => o === 401)).toBe(true);
    expect((await httpGet(edge.healthPort, '/healthz'))?.status).toBe(200);
  });

  it('stores events under the token player whatever the payload claims', async () => {
    const c = await TestClient.connect(url, await signPlayerToken(AUTH_SECRET, 'alice', 600));
    const claims: WireEvent[] = [
      { id: 'a-1', type: 'level.up', data: { level: 3, player: 'bob' } },
      { id: 'a-2', type: 'level.up', data: { level: 4 } },
    ];
    c.sendFrame({ t: 'ev', ...claims[0], player: 'bob', sub: 'bob' });
    c.sendFrame({ t: 'evs', player: 'bob', events: [{ ...claims[1], player: 'bob' }] });
    await c.until(() => c.acked.size === 2, 20_000);
    c.close();
    for (const e of claims) {
      acked.push({ player: 'alice', id: e.id });
      sentEvents.push({ player: 'alice', event: e });
    }
    expect(c.hello?.player).toBe('alice');
  });

  it('closes a session whose token expires with 1008 and stores nothing after it', async () => {
    const c = await TestClient.connect(url, await signPlayerToken(AUTH_SECRET, 'shortlived', 2));
    c.sendEvents([{ id: 's-1', type: 'level.up', data: { level: 1 } }]);
    await c.until(() => c.acked.size === 1, 10_000);
    acked.push({ player: 'shortlived', id: 's-1' });
    sentEvents.push({ player: 'shortlived', event: { id: 's-1', type: 'level.up', data: { level: 1 } } });
    await c.until(() => c.closeCode !== null, 15_000).catch(() => undefined);
    if (c.closeCode === null) c.sendEvents([{ id: 's-late', type: 'level.up', data: { level: 2 } }]);
    expect(await c.closed).toBe(1008);
  });

  it('rate-limits a flood, then closes it with 1008; nothing refused is stored', async () => {
    const c = await TestClient.connect(url, await signPlayerToken(AUTH_SECRET, 'flooder', 600));
    const flood: WireEvent[] = Array.from({ length: 3_000 }, (_, i) => ({ id: `f-${i}`, type: 'match.end', data: { result: 'win' } }));
    for (let i = 0; i < flood.length && c.open; i += 10) c.sendEvents(flood.slice(i, i + 10));
    const code = await c.closed;
    const limited = c.errors.filter((e) => e.code === 'rate_limited');
    expect(limited.length).toBeGreaterThan(0);
    expect(code).toBe(1008);
    for (const e of limited) if (e.id !== undefined) floodRefused.add(e.id);
    for (const e of flood) {
      floodById.set(e.id, e);
      if (c.acked.has(e.id)) {
        acked.push({ player: 'flooder', id: e.id });
        sentEvents.push({ player: 'flooder', event: e });
      }
    }
    expect(c.acked.size).toBeLessThan(flood.length);
  });

  it('closes on an oversized frame with 1009 and keeps serving others', async () => {
    const c = await TestClient.connect(url, await signPlayerToken(AUTH_SECRET, 'bigframe', 600));
    c.sendFrame({ t: 'ev', id: 'big', type: 'level.up', data: { level: 1, pad: 'x'.repeat(70 * 1024) } });
    expect(await c.closed).toBe(1009);
    const other = await TestClient.connect(url, await signPlayerToken(AUTH_SECRET, 'bystander', 600));
    other.sendEvents([{ id: 'by-1', type: 'level.up', data: { level: 9 } }]);
    await other.until(() => other.acked.size === 1, 10_000);
    other.close();
    acked.push({ player: 'bystander', id: 'by-1' });
    sentEvents.push({ player: 'bystander', event: { id: 'by-1', type: 'level.up', data: { level: 9 } } });
  });

  it(`caps connections per token at ${CONN_CAP}`, async () => {
    const token = await signPlayerToken(AUTH_SECRET, 'hydra', 600);
    const results = await Promise.allSettled(Array.from({ length: CONN_CAP + 3 }, () => TestClient.connect(url, token, { timeoutMs: 5_000 })));
    const open = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    await sleep(300);
    const stillOpen = open.filter((c) => c.open);
    const refusedCodes = open.filter((c) => !c.open).map((c) => c.closeCode);
    expect(stillOpen.length).toBe(CONN_CAP);
    expect(refusedCodes.every((code) => code === 1013)).toBe(true);
    for (const c of stillOpen) c.close();
  });

  it('times out slowloris upgrades without hurting anyone', async () => {
    const sockets = Array.from({ length: 50 }, () => createConnection({ host: '127.0.0.1', port: edge.healthPort }));
    await Promise.all(sockets.map((s) => new Promise<void>((r) => s.once('connect', () => r()))));
    for (const s of sockets) s.write('GET /v1/play HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    const probe = await TestClient.connect(url, await signPlayerToken(AUTH_SECRET, 'patient', 600));
    probe.sendEvents([{ id: 'pa-1', type: 'level.up', data: { level: 2 } }]);
    await probe.until(() => probe.acked.size === 1, 10_000);
    probe.close();
    acked.push({ player: 'patient', id: 'pa-1' });
    sentEvents.push({ player: 'patient', event: { id: 'pa-1', type: 'level.up', data: { level: 2 } } });
    await Promise.all(sockets.map((s) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())))));
    expect(sockets.every((s) => s.destroyed)).toBe(true);
  }, 60_000);

  it('after all of it: every acked event is stored under its token player, applied once, and no one else has state', async () => {
    expect(edge.alive()).toBe(true);
    const records = await readTopicRecords(world.brokers, world.topic);
    const lost = assertNoLostAcks(acked, records);
    const ackedKeys = new Set(acked.map((a) => `${a.player}/${a.id}`));
    const unacked = records.filter((r) => r.record && !ackedKeys.has(`${r.record.player}/${r.record.id}`)).map((r) => r.record as NonNullable<typeof r.record>);
    expect(unacked.filter((r) => r.player !== 'flooder')).toEqual([]);
    expect(unacked.filter((r) => floodRefused.has(r.id))).toEqual([]);
    const inFlightAtClose = new Set(unacked.map((r) => r.id));
    for (const id of inFlightAtClose) sentEvents.push({ player: 'flooder', event: floodById.get(id) as WireEvent });
    const admin = integrityKafka(world.brokers).admin();
    await admin.connect();
    await waitConsumed(admin, world.groupId, world.topic);
    await admin.disconnect();
    const actual = await readPlayerStates(world.redis, world.keyPrefix, await scanPlayersWithState(world.redis, world.keyPrefix));
    assertAppliedOnce(expectedStates(sentEvents), actual);
    console.log(`abuse: ${lost.acked} acked events, all stored under their token players; ${records.length} records (${inFlightAtClose.size} flood events in flight when the flooder was closed: stored, never acked, none of the ${floodRefused.size} refused by id); state only for ${[...actual.keys()].sort().join(', ')}`);
  });
});
