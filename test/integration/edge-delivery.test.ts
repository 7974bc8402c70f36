/**
 * Offer delivery across edge instances (docs/delivery.md) with real Redis and two real
 * edges sharing one key prefix: an offer published for a player reaches the instance that
 * holds the socket, every device of the player, and the inbox on connect, once per socket,
 * in createdAt order, never past its expiresAt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playerKeys } from '../../lib/keys.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import type { Offer } from '../../protocol/offer.ts';
import { publishOffer } from '../../protocol/offer-channel.ts';
import type { LocalRedisCluster } from '../../infra/redis-cluster.ts';
import { startRedisCluster } from '../../infra/stack.ts';
import { withServices } from '../../lib/config.ts';
import { TestClient, cleanup, startTestEdge, type Frame, type TestEdge } from './edge-harness.ts';
import { sleep } from '../../lib/time.ts';

let a: TestEdge;
let b: TestEdge;
let redis: RedisClient;

beforeAll(async () => {
  a = await startTestEdge();
  b = await startTestEdge({ config: a.config });
  redis = createRedis(a.config.redisUrl as string, 'edge-delivery-test');
});

afterAll(async () => {
  await Promise.all([a.stop(), b.stop()]);
  await cleanup(a.config);
  redis.disconnect();
});

let seq = 0;
function offer(id: string, ttlMs = 600_000): Offer {
  return { id, ruleId: 'comeback-bundle', sku: 'bundle.small', title: 'Comeback', price: { amount: 199, currency: 'USD' }, discountPct: 40, expiresAt: Date.now() + ttlMs, data: { tier: 1 } };
}

/** What the offers engine's decision script does: the offer into the inbox, then routing. */
async function putInInbox(r: RedisClient, prefix: string, player: string, o: Offer, createdAt = Date.now() + seq++): Promise<void> {
  const k = playerKeys(prefix, player);
  await r.zadd(k.inbox, o.expiresAt, o.id);
  await r.hset(k.offers, o.id, JSON.stringify({ ...o, createdAt }));
}

async function connect(e: TestEdge, player: string): Promise<TestClient> {
  const c = await TestClient.connect(e.url(await e.token(player)));
  await c.next((f) => f.t === 'hello');
  return c;
}

/** Presence is written right after hello; wait for it so a publish finds this socket. */
async function present(r: RedisClient, prefix: string, player: string, instances: number): Promise<void> {
  while (Object.keys(await r.hgetall(playerKeys(prefix, player).presence)).length < instances) await sleep(10);
}

const offersOf = (c: TestClient) => c.frames.filter((f) => f.t === 'offer').map((f) => (f.offer as Offer).id);
const isOffer = (id: string) => (f: Frame) => f.t === 'offer' && (f.offer as Offer).id === id;

describe('edge offer delivery', () => {
  it('delivers an offer published for a player to the instance holding the socket (B), exactly as the contract shapes it', async () => {
    const c = await connect(b, 'on-b');
    await present(redis, a.config.keyPrefix, 'on-b', 1);
    const o = offer('offer-b-1');
    await putInInbox(redis, a.config.keyPrefix, 'on-b', o);
    expect(await publishOffer(redis, a.config.keyPrefix, 'on-b', o)).toBe(1);
    const got = await c.next(isOffer('offer-b-1'));
    expect(got.offer).toEqual(o);
    await c.close();
  });

  it('delivers to every device of the player, on both instances', async () => {
    const onA = await connect(a, 'two-devices');
    const onB = await connect(b, 'two-devices');
    const onB2 = await connect(b, 'two-devices');
    await present(redis, a.config.keyPrefix, 'two-devices', 2);
    const o = offer('offer-multi');
    await putInInbox(redis, a.config.keyPrefix, 'two-devices', o);
    expect(await publishOffer(redis, a.config.keyPrefix, 'two-devices', o)).toBe(2);
    for (const c of [onA, onB, onB2]) expect((await c.next(isOffer('offer-multi'))).offer).toEqual(o);
    await Promise.all([onA.close(), onB.close(), onB2.close()]);
  });

  it('gives an offline player their pending offers on connect, in createdAt order, once, never an expired one', async () => {
    const p = 'offline';
    expect(await publishOffer(redis, a.config.keyPrefix, p, offer('nobody-home'))).toBe(0);
    const t0 = Date.now();
    await putInInbox(redis, a.config.keyPrefix, p, offer('second', 600_000), t0 + 2);
    await putInInbox(redis, a.config.keyPrefix, p, offer('first', 900_000), t0 + 1);
    await putInInbox(redis, a.config.keyPrefix, p, offer('gone', -1_000), t0);
    await putInInbox(redis, a.config.keyPrefix, p, offer('third', 300_000), t0 + 3);
    const c = await connect(b, p);
    await c.until(() => offersOf(c).length >= 3);
    await present(redis, a.config.keyPrefix, p, 1);
    await publishOffer(redis, a.config.keyPrefix, p, offer('first', 900_000));
    const marker = offer('marker');
    await putInInbox(redis, a.config.keyPrefix, p, marker);
    await publishOffer(redis, a.config.keyPrefix, p, marker);
    await c.next(isOffer('marker'));
    expect(offersOf(c)).toEqual(['first', 'second', 'third', 'marker']);
    await c.close();
  });

  it('never delivers an offer published after its expiresAt', async () => {
    const c = await connect(a, 'late-offer');
    await present(redis, a.config.keyPrefix, 'late-offer', 1);
    await publishOffer(redis, a.config.keyPrefix, 'late-offer', offer('stale', -1));
    await publishOffer(redis, a.config.keyPrefix, 'late-offer', offer('fresh'));
    await c.next(isOffer('fresh'));
    expect(offersOf(c)).toEqual(['fresh']);
    await c.close();
  });

  it('drops the presence entry when the last socket closes; the offer then waits in the inbox', async () => {
    const c = await connect(a, 'leaver');
    await present(redis, a.config.keyPrefix, 'leaver', 1);
    await c.close();
    while (Object.keys(await redis.hgetall(playerKeys(a.config.keyPrefix, 'leaver').presence)).length > 0) await sleep(10);
    const o = offer('waits');
    await putInInbox(redis, a.config.keyPrefix, 'leaver', o);
    expect(await publishOffer(redis, a.config.keyPrefix, 'leaver', o)).toBe(0);
    const back = await connect(b, 'leaver');
    expect((await back.next(isOffer('waits'))).offer).toEqual(o);
    await back.close();
  });
});

describe('edge offer delivery on a Redis Cluster', () => {
  let cluster: LocalRedisCluster;
  let x: TestEdge;
  let y: TestEdge;
  let cr: RedisClient;

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    const base = withServices(a.config, { kafkaBrokers: a.config.kafkaBrokers as string[], redisUrl: cluster.url });
    x = await startTestEdge({ config: base });
    y = await startTestEdge({ config: base });
    cr = createRedis(cluster.url, 'edge-delivery-cluster-test');
  }, 120_000);

  afterAll(async () => {
    await Promise.all([x?.stop(), y?.stop()]);
    cr?.disconnect();
    await cluster?.stop();
  });

  it('routes through sharded pub/sub to whichever instance holds the socket, across slots', async () => {
    const players = ['c-alpha', 'c-bravo', 'c-charlie', 'c-delta'];
    const clients = await Promise.all(players.map((p, i) => connect(i % 2 ? x : y, p)));
    for (const p of players) await present(cr, x.config.keyPrefix, p, 1);
    for (const p of players) {
      const o = offer(`cl-${p}`);
      await putInInbox(cr, x.config.keyPrefix, p, o);
      expect(await publishOffer(cr, x.config.keyPrefix, p, o)).toBe(1);
    }
    for (const [i, c] of clients.entries()) expect((await c.next(isOffer(`cl-${players[i]}`))).offer).toMatchObject({ id: `cl-${players[i]}` });
    await Promise.all(clients.map((c) => c.close()));
    const late = await connect(x, 'c-alpha');
    expect((await late.next(isOffer('cl-c-alpha'))).offer).toMatchObject({ id: 'cl-c-alpha' });
    await late.close();
  });
});
