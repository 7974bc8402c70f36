/**
 * The client SDK (sdk/) against a real edge: send resolves on ack, bad_event rejects,
 * offers are de-duplicated by id across reconnects, and after the edge closes the socket
 * (token expiry) the SDK reconnects with a fresh token and its outbox drains.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { playerKeys } from '../../lib/keys.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import type { Offer } from '../../protocol/offer.ts';
import { publishOffer } from '../../protocol/offer-channel.ts';
import { PlayPulseClient, type WebSocketConstructor } from '../../sdk/index.ts';
import { cleanup, readEvents, startTestEdge, type TestEdge } from './edge-harness.ts';
import { sleep } from '../../lib/time.ts';

let t: TestEdge;
let redis: RedisClient;

beforeAll(async () => {
  t = await startTestEdge();
  redis = createRedis(t.config.redisUrl as string, 'edge-sdk-test');
});

afterAll(async () => {
  await t.stop();
  await cleanup(t.config);
  redis.disconnect();
});

function sdk(player: string, ttlSec = 3600): PlayPulseClient {
  return new PlayPulseClient({ url: t.url(), token: () => t.token(player, ttlSec), WebSocket: WebSocket as unknown as WebSocketConstructor, backoff: { baseMs: 50, maxMs: 500 } });
}

async function connected(c: PlayPulseClient): Promise<void> {
  while (!c.connected) await sleep(10);
}

describe('client SDK', () => {
  it('resolves send on ack and rejects an event the edge refuses', async () => {
    const c = sdk('sdk-basic');
    c.connect();
    await c.send({ id: 'sdk-1', type: 'level.up', data: { level: 2 } });
    await expect(c.send({ id: 'sdk-2', type: 'level.up', data: { level: 'two' } })).rejects.toMatchObject({ code: 'bad_event' });
    await expect(c.send({ type: 'not.declared' })).rejects.toMatchObject({ code: 'bad_event' });
    expect(c.pending).toBe(0);
    expect(await c.ping({ x: 1 })).toEqual({ x: 1 });
    await c.close();
    await expect(c.send({ type: 'level.up', data: { level: 1 } })).rejects.toMatchObject({ code: 'closed' });
  });

  it('calls onOffer once per offer id, across a live push, a republish and a reconnect', async () => {
    const c = sdk('sdk-offers', 2);
    const seen: string[] = [];
    const sessions: string[] = [];
    c.onOffer((o) => seen.push(o.id));
    c.onState((s) => s.session && sessions.push(s.session));
    c.connect();
    await connected(c);
    while (Object.keys(await redis.hgetall(playerKeys(t.config.keyPrefix, 'sdk-offers').presence)).length === 0) await sleep(10);
    const offer: Offer = { id: 'sdk-offer-1', ruleId: 'r', sku: 's', price: { amount: 99, currency: 'EUR' }, expiresAt: Date.now() + 600_000 };
    const k = playerKeys(t.config.keyPrefix, 'sdk-offers');
    await redis.zadd(k.inbox, offer.expiresAt, offer.id);
    await redis.hset(k.offers, offer.id, JSON.stringify({ ...offer, createdAt: Date.now() }));
    await publishOffer(redis, t.config.keyPrefix, 'sdk-offers', offer);
    await publishOffer(redis, t.config.keyPrefix, 'sdk-offers', offer);
    while (sessions.length < 2) await sleep(20);
    await connected(c);
    const second: Offer = { ...offer, id: 'sdk-offer-2' };
    await redis.zadd(k.inbox, second.expiresAt, second.id);
    await redis.hset(k.offers, second.id, JSON.stringify({ ...second, createdAt: Date.now() }));
    while (Object.keys(await redis.hgetall(k.presence)).length === 0) await sleep(10);
    await publishOffer(redis, t.config.keyPrefix, 'sdk-offers', second);
    while (!seen.includes('sdk-offer-2')) await sleep(10);
    expect(seen).toEqual(['sdk-offer-1', 'sdk-offer-2']);
    await c.close();
  });

  it('reconnects after the edge closes the socket and resends its outbox; every event lands in Kafka', async () => {
    const c = sdk('sdk-reconnect', 2);
    const closes: number[] = [];
    c.onState((s) => s.code !== undefined && closes.push(s.code));
    c.connect();
    await connected(c);
    const sends: Promise<void>[] = [];
    const ids: string[] = [];
    for (let i = 0; !closes.includes(1008) || i < 30; i++) {
      ids.push(`rc-${i}`);
      sends.push(c.send({ id: `rc-${i}`, type: 'level.up', data: { level: i } }));
      await sleep(100);
    }
    await Promise.all(sends);
    expect(closes).toContain(1008);
    expect(c.pending).toBe(0);
    const { records } = await readEvents(t.config, (rs) => ids.every((id) => rs.some((r) => r.id === id)));
    expect(new Set(records.filter((r) => r.player === 'sdk-reconnect').map((r) => r.id))).toEqual(new Set(ids));
    await c.close();
  });
});
