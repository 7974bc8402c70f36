/**
 * The edge's protections against a real Kafka and Redis: rate limit and abuse (1008),
 * connections per player (1013), slow readers, Kafka down or unresponsive (`unavailable`,
 * no ack, bounded in-flight bytes, 1013 for new connections at the bound), and drain.
 */
import { Socket, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PlayPulseClient } from '../../sdk/index.ts';
import type { WebSocketConstructor } from '../../sdk/index.ts';
import { TestClient, cleanup, metricValue, readEvents, startTestEdge, type Frame, type TestEdge } from './edge-harness.ts';
import { sleep } from '../../lib/time.ts';

const edges: TestEdge[] = [];
const servers: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const e of edges.splice(0)) {
    await e.stop();
    await cleanup(e.config);
  }
  for (const s of servers.splice(0)) await s.close();
});

async function edge(opts: Parameters<typeof startTestEdge>[0] = {}): Promise<TestEdge> {
  const e = await startTestEdge(opts);
  edges.push(e);
  return e;
}

/** Polls `check` until it holds; fails after 10 s. */
async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await sleep(50);
  }
}

async function client(e: TestEdge, player: string): Promise<TestClient> {
  const c = await TestClient.connect(e.url(await e.token(player)));
  await c.next((f) => f.t === 'hello');
  return c;
}

/** A TCP server on a free port: `refuse` closes every connection, `blackhole` holds it and never answers, `forward` pipes to `target`. */
async function fakeBroker(mode: { current: 'refuse' | 'blackhole' | 'forward' }, target?: string): Promise<string> {
  const held = new Set<Socket>();
  const server = createServer((socket) => {
    held.add(socket);
    socket.on('close', () => held.delete(socket));
    socket.on('error', () => undefined);
    if (mode.current === 'refuse') socket.destroy();
    else if (mode.current === 'forward') {
      const [host, port] = (target as string).split(':');
      const upstream = new Socket();
      upstream.on('error', () => socket.destroy());
      upstream.connect(Number(port), host as string, () => {
        socket.pipe(upstream);
        upstream.pipe(socket);
      });
    }
  });
  servers.push({ close: () => new Promise<void>((r) => { for (const s of held) s.destroy(); server.close(() => r()); }) });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  return `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

const ev = (id: string, extra: Record<string, unknown> = {}) => ({ t: 'ev', id, type: 'level.up', data: { level: 1, ...extra } });

describe('edge limits', () => {
  it('refuses frames over the rate with rate_limited, then closes with 1008 on sustained abuse', async () => {
    const e = await edge({ env: { PLAYPULSE_RATE_PER_SEC: '1', PLAYPULSE_RATE_BURST: '5' } });
    const c = await client(e, 'greedy');
    for (let i = 0; i < 6; i++) c.send(ev(`r-${i}`));
    const limited = await c.next((f) => f.t === 'err' && f.code === 'rate_limited');
    expect(limited.id).toBe('r-5');
    await c.acked(['r-0', 'r-1', 'r-2', 'r-3', 'r-4']);
    for (let i = 0; i < 40; i++) c.send(ev(`abuse-${i}`));
    const closed = await c.closed;
    expect(closed).toEqual({ code: 1008, reason: 'rate limit exceeded repeatedly' });
    expect(c.ackedIds().filter((id) => id.startsWith('abuse-')).length).toBeLessThan(40);
  });

  it('closes a connection over the per-player limit with 1013; other players are unaffected', async () => {
    const e = await edge({ env: { PLAYPULSE_MAX_CONNS_PER_PLAYER: '2' } });
    const a = await client(e, 'multi');
    const b = await client(e, 'multi');
    const third = await TestClient.connect(e.url(await e.token('multi')));
    expect(await third.closed).toEqual({ code: 1013, reason: 'too many connections for this player' });
    const other = await client(e, 'someone-else');
    await Promise.all([a.close(), b.close(), other.close()]);
  });

  it('holds at most PLAYPULSE_MAX_CONNECTIONS sockets; a closed one frees its place', async () => {
    const e = await edge({ env: { PLAYPULSE_MAX_CONNECTIONS: '2' } });
    const refusedBefore = await metricValue(e.edge.port, 'playpulse_edge_connections_refused_total', 'reason="edge"');
    const a = await client(e, 'cap-a');
    const b = await client(e, 'cap-b');
    const third = await TestClient.connect(e.url(await e.token('cap-c')));
    expect(await third.closed).toEqual({ code: 1013, reason: 'edge at its connection limit' });
    expect(await metricValue(e.edge.port, 'playpulse_edge_connections_refused_total', 'reason="edge"')).toBe(refusedBefore + 1);
    await a.close();
    await waitUntil(async () => (await metricValue(e.edge.port, 'playpulse_edge_connections')) === 1);
    const again = await client(e, 'cap-c');
    again.send({ t: 'ping', n: 1 });
    expect((await again.next((f) => f.t === 'pong')).n).toBe(1);
    await Promise.all([b.close(), again.close()]);
  });

  it('holds at most PLAYPULSE_MAX_CONNS_PER_IP sockets from one address; other addresses are unaffected', async () => {
    const e = await edge({ env: { PLAYPULSE_MAX_CONNS_PER_IP: '2' } });
    const from = async (localAddress: string, player: string) => TestClient.connect(e.url(await e.token(player)), { localAddress });
    const a = await from('127.0.0.1', 'ip-a');
    const b = await from('127.0.0.1', 'ip-b');
    await Promise.all([a.next((f) => f.t === 'hello'), b.next((f) => f.t === 'hello')]);
    const third = await from('127.0.0.1', 'ip-c');
    expect(await third.closed).toEqual({ code: 1013, reason: 'too many connections from this address' });
    const elsewhere = await from('127.0.0.2', 'ip-c');
    await elsewhere.next((f) => f.t === 'hello');
    await b.close();
    await waitUntil(async () => (await metricValue(e.edge.port, 'playpulse_edge_connections')) === 2);
    const back = await from('127.0.0.1', 'ip-d');
    await back.next((f) => f.t === 'hello');
    expect(await metricValue(e.edge.port, 'playpulse_edge_connections_refused_total', 'reason="address"')).toBe(1);
    await Promise.all([a.close(), elsewhere.close(), back.close()]);
  });

  it('closes a reader that stops reading once over the backpressure limit, without holding up others', async () => {
    const e = await edge({ env: { PLAYPULSE_MAX_BACKPRESSURE_BYTES: '65536', PLAYPULSE_RATE_PER_SEC: '100000', PLAYPULSE_RATE_BURST: '100000' } });
    const drops = await metricValue(e.edge.port, 'playpulse_edge_backpressure_drops_total');
    const slow = await client(e, 'slow');
    const fast = await client(e, 'fast');
    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    const big = 'x'.repeat(60_000);
    let round = 0;
    while ((await metricValue(e.edge.port, 'playpulse_edge_backpressure_drops_total')) === drops) {
      for (let i = 0; i < 50; i++) slow.send({ t: 'ping', n: big });
      fast.send({ t: 'ping', n: round });
      const r = round;
      expect((await fast.next((f) => f.t === 'pong' && f.n === r)).n).toBe(r);
      round += 1;
      await sleep(20);
    }
    (slow.ws as unknown as { _socket: Socket })._socket.resume();
    const closed = await slow.closed;
    expect([1008, 1006]).toContain(closed.code);
    fast.send({ t: 'ping', n: 'after' });
    expect((await fast.next((f) => f.t === 'pong' && f.n === 'after')).n).toBe('after');
    await fast.close();
  });
});

describe('edge with Kafka down', () => {
  it('never acks while the broker is dead: events get unavailable and /readyz is 503', async () => {
    const mode = { current: 'refuse' as const };
    const broker = await fakeBroker(mode);
    const e = await edge({ kafkaBrokers: [broker], tuning: { kafkaProbeIntervalMs: 200, produceTimeoutMs: 1_000 } });
    let ready = await fetch(`http://127.0.0.1:${e.edge.port}/readyz`);
    expect(ready.status).toBe(503);
    const c = await client(e, 'no-kafka');
    for (let i = 0; i < 5; i++) c.send(ev(`down-${i}`));
    await c.until(() => c.errors('unavailable').length === 5);
    expect(c.errors('unavailable').map((f) => f.id)).toEqual(['down-0', 'down-1', 'down-2', 'down-3', 'down-4']);
    expect(c.ackedIds()).toEqual([]);
    ready = await fetch(`http://127.0.0.1:${e.edge.port}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, boolean> }).checks['edge-kafka']).toBe(false);
    await c.close();
  });

  it('bounds in-flight bytes when Kafka does not answer: unavailable past the bound, 1013 for new connections', async () => {
    const mode = { current: 'blackhole' as const };
    const broker = await fakeBroker(mode);
    const e = await edge({
      env: { PLAYPULSE_INFLIGHT_BYTES_GLOBAL: '65536', PLAYPULSE_INFLIGHT_BYTES_PER_CONN: '65536', PLAYPULSE_DRAIN_TIMEOUT_MS: '200' },
      kafkaBrokers: [broker],
      tuning: { kafkaProbeIntervalMs: 120_000, produceTimeoutMs: 120_000 },
    });
    const c = await client(e, 'stuck');
    const pad = 'y'.repeat(8_000);
    for (let i = 0; i < 12; i++) c.send(ev(`held-${i}`, { pad }));
    const refused = await c.next((f) => f.t === 'err' && f.code === 'unavailable');
    expect(refused.message).toMatch(/in-flight limit/);
    expect(await metricValue(e.edge.port, 'playpulse_edge_inflight_bytes')).toBeLessThanOrEqual(65_536);
    const late = await TestClient.connect(e.url(await e.token('latecomer')));
    expect(await late.closed).toEqual({ code: 1013, reason: 'edge overloaded: in-flight limit reached' });
    expect(c.ackedIds()).toEqual([]);
  });

  it('after the broker comes back, every event the SDK sent is acked and in Kafka exactly as sent; the outbox drains', async () => {
    const first = await edge();
    const real = (first.config.kafkaBrokers as string[])[0] as string;
    const mode: { current: 'refuse' | 'blackhole' | 'forward' } = { current: 'refuse' };
    const broker = await fakeBroker(mode, real);
    const e = await edge({ config: first.config, kafkaBrokers: [broker], tuning: { kafkaProbeIntervalMs: 200, produceTimeoutMs: 1_000 } });
    const errors: Frame[] = [];
    const sdk = new PlayPulseClient({ url: e.url(), token: () => e.token('returning'), WebSocket: WebSocket as unknown as WebSocketConstructor, backoff: { baseMs: 50, maxMs: 500 } });
    sdk.onError((f) => errors.push(f as unknown as Frame));
    sdk.connect();
    const sent = Array.from({ length: 40 }, (_, i) => ({ id: `back-${i}`, type: 'match.end', ts: 1_000 + i, data: { result: i % 2 ? 'win' : 'loss', duration_s: i } }));
    const acks = sent.slice(0, 20).map((event) => sdk.send(event));
    while (!errors.some((f) => f.code === 'unavailable')) await sleep(20);
    expect(sdk.pending).toBe(20);
    mode.current = 'forward';
    acks.push(...sent.slice(20).map((event) => sdk.send(event)));
    await Promise.all(acks);
    expect(sdk.pending).toBe(0);
    const { records, keys } = await readEvents(e.config, (rs) => sent.every((s) => rs.some((r) => r.id === s.id)));
    for (const s of sent) {
      const i = records.findIndex((r) => r.id === s.id);
      expect(records[i]).toMatchObject({ player: 'returning', id: s.id, type: s.type, ts: s.ts, data: s.data });
      expect(keys[i]).toBe('returning');
    }
    await sdk.close();
  });
});

describe('edge with Redis down', () => {
  it('reports not ready while Redis is unreachable, and still takes events into Kafka', async () => {
    const dead = await fakeBroker({ current: 'refuse' });
    const e = await startTestEdge({ env: { PLAYPULSE_KAFKA_CONNECT_TIMEOUT_MS: '300' }, redisUrl: `redis://${dead}` });
    try {
      const ready = await fetch(`http://127.0.0.1:${e.edge.port}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: Record<string, boolean> }).checks['edge-redis']).toBe(false);
      const c = await client(e, 'no-redis');
      c.send(ev('nr-1'));
      await c.acked(['nr-1']);
      await c.close();
    } finally {
      await e.stop();
    }
  });
});

describe('edge drain', () => {
  it('on stop: acks what Kafka took, then closes every socket with 1001; every acked event is in Kafka', async () => {
    // The pump offers 10k events/s: the rate limit is lifted so a slow first ack (a busy
    // machine) cannot turn the pump into a 1008 for abuse before the drain starts.
    const e = await startTestEdge({ env: { PLAYPULSE_RATE_PER_SEC: '1000000', PLAYPULSE_RATE_BURST: '1000000' } });
    const c = await client(e, 'drainer');
    let n = 0;
    const pump = setInterval(() => {
      for (let i = 0; i < 20; i++) c.send(ev(`drain-${n++}`));
    }, 2);
    await c.until(() => c.ackedIds().length > 100);
    const stopped = e.stop();
    const closed = await c.closed;
    clearInterval(pump);
    await stopped;
    expect(closed.code).toBe(1001);
    const acked = new Set(c.ackedIds());
    const { records } = await readEvents(e.config, (rs) => [...acked].every((id) => rs.some((r) => r.id === id)));
    expect(records.filter((r) => acked.has(r.id))).toHaveLength(acked.size);
    expect(await fetch(`http://127.0.0.1:${e.edge.port}/healthz`).then(() => 'answered', () => 'refused')).toBe('refused');
    await cleanup(e.config);
  });
});
