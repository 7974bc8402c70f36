/**
 * Streams and seq against a real edge, real Kafka and Redis, with the independent
 * `ws` + @msgpack/msgpack client: the upgrade's `?stream=` (accepted, echoed by hello, or
 * refused with 400 EDGE_BAD_STREAM), seq copied with the stream into the Kafka record, and
 * seq refused per event where it is not allowed.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlayPulseClient, type WebSocketConstructor } from '../../sdk/index.ts';
import { TestClient, cleanup, metricValue, readEvents, type Frame, type TestEdge, startTestEdge } from './edge-harness.ts';

let t: TestEdge;

beforeAll(async () => {
  t = await startTestEdge();
});

afterAll(async () => {
  await t.stop();
  await cleanup(t.config);
});

async function client(player: string, stream?: string): Promise<TestClient> {
  const base = t.url(await t.token(player));
  const c = await TestClient.connect(stream === undefined ? base : `${base}&stream=${encodeURIComponent(stream)}`);
  await c.next((f) => f.t === 'hello');
  return c;
}

/** Status and JSON body of a refused upgrade. */
function refusal(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        ws.terminate();
      });
    });
    ws.once('open', () => {
      ws.close();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('error', () => undefined);
  });
}

const isErr = (id: string) => (f: Frame) => f.t === 'err' && f.id === id;

describe('the upgrade parameter stream', () => {
  it('is echoed by hello when given, and hello has no stream without it', async () => {
    const a = await client('stream-hello', 'sdk-AbC_1.2:3-x');
    expect(a.frames[0]).toMatchObject({ t: 'hello', player: 'stream-hello', stream: 'sdk-AbC_1.2:3-x' });
    const b = await client('stream-hello');
    expect(b.frames[0]?.t).toBe('hello');
    expect(Object.hasOwn(b.frames[0] as Frame, 'stream')).toBe(false);
    await Promise.all([a.close(), b.close()]);
  });

  it('is refused with HTTP 400 EDGE_BAD_STREAM when malformed', async () => {
    const token = await t.token('stream-bad');
    for (const bad of ['', 'x'.repeat(65), 'has%20space', 'a%2Fb', '%C3%A9']) {
      const r = await refusal(`${t.url(token)}&stream=${bad}`);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: 'EDGE_BAD_STREAM', message: expect.stringMatching(/stream/) });
    }
    expect(await metricValue(t.edge.port, 'playpulse_edge_upgrades_total', 'outcome="400"')).toBeGreaterThanOrEqual(5);
  });
});

describe('seq on events', () => {
  it('goes with the stream into the Kafka record; an event without seq has neither and is counted', async () => {
    const without = await metricValue(t.edge.port, 'playpulse_edge_events_without_seq_total');
    const c = await client('seq-record', 'stream-rec');
    c.send({ t: 'evs', events: [{ id: 'sr-1', type: 'level.up', data: { level: 1 }, seq: 1 }, { id: 'sr-2', type: 'level.up', data: { level: 2 }, seq: 9_007_199_254_740_991 }, { id: 'sr-3', type: 'level.up', data: { level: 3 } }] });
    await c.acked(['sr-1', 'sr-2', 'sr-3']);
    const { records } = await readEvents(t.config, (rs) => ['sr-1', 'sr-2', 'sr-3'].every((id) => rs.some((r) => r.id === id)));
    const byId = new Map(records.filter((r) => r.player === 'seq-record').map((r) => [r.id, r]));
    expect(byId.get('sr-1')).toMatchObject({ stream: 'stream-rec', seq: 1 });
    expect(byId.get('sr-2')).toMatchObject({ stream: 'stream-rec', seq: Number.MAX_SAFE_INTEGER });
    expect(Object.hasOwn(byId.get('sr-3') as object, 'stream')).toBe(false);
    expect(Object.hasOwn(byId.get('sr-3') as object, 'seq')).toBe(false);
    expect(await metricValue(t.edge.port, 'playpulse_edge_events_without_seq_total')).toBe(without + 1);
    await c.close();
  });

  it('on a socket without a stream is bad_event for that event only; the rest of the frame is acked', async () => {
    const c = await client('seq-nostream');
    c.send({ t: 'evs', events: [{ id: 'ns-1', type: 'level.up', data: { level: 1 } }, { id: 'ns-2', type: 'level.up', data: { level: 2 }, seq: 2 }, { id: 'ns-3', type: 'level.up', data: { level: 3 } }] });
    await c.acked(['ns-1', 'ns-3']);
    const err = await c.next(isErr('ns-2'));
    expect(err).toMatchObject({ code: 'bad_event', message: expect.stringMatching(/stream/) });
    expect(c.ackedIds()).not.toContain('ns-2');
    await c.close();
  });

  it('that is not an integer 1..2^53 - 1 is bad_event for that event only', async () => {
    const c = await client('seq-bad', 'stream-bad-seq');
    const bad = [0, -4, 2.5, 'seven'];
    c.send({
      t: 'evs',
      events: [...bad.map((seq, i) => ({ id: `bs-${i}`, type: 'level.up', data: { level: 1 }, seq })), { id: 'bs-ok', type: 'level.up', data: { level: 2 }, seq: 5 }],
    });
    await c.acked(['bs-ok']);
    for (let i = 0; i < bad.length; i++) expect(await c.next(isErr(`bs-${i}`))).toMatchObject({ code: 'bad_event', message: expect.stringMatching(/`seq`/) });
    c.send({ t: 'ev', id: 'bs-big', type: 'level.up', data: { level: 3 }, seq: 2n ** 53n });
    expect(await c.next(isErr('bs-big'))).toMatchObject({ code: 'bad_event' });
    expect(c.ackedIds()).toEqual(['bs-ok']);
    await c.close();
  });
});

/** `ws` whose first socket is cut right after its first frame is written: the acks of that frame never arrive. */
function cuttingWebSocket(opened: string[]): WebSocketConstructor {
  let cut = false;
  return class extends WebSocket {
    constructor(url: string) {
      super(url);
      opened.push(url);
    }

    override send(data: Uint8Array): void {
      if (cut) {
        super.send(data);
        return;
      }
      cut = true;
      super.send(data, () => this.terminate());
    }
  } as unknown as WebSocketConstructor;
}

describe('the SDK over a real edge', () => {
  it('names its stream, numbers its events 1..n, and a resend after a cut socket keeps each seq', async () => {
    const player = 'sdk-stream';
    const opened: string[] = [];
    const c = new PlayPulseClient({ url: t.url(), token: () => t.token(player), WebSocket: cuttingWebSocket(opened), backoff: { baseMs: 20, maxMs: 100 } });
    c.connect();
    const ids = Array.from({ length: 40 }, (_, i) => `sdk-s-${i}`);
    await Promise.all(ids.map((id, i) => c.send({ id, type: 'level.up', data: { level: i } })));
    await c.close();
    expect(opened.length).toBeGreaterThanOrEqual(2);
    expect(opened.every((u) => new URL(u).searchParams.get('stream') === c.stream)).toBe(true);
    const { records } = await readEvents(t.config, (rs) => ids.every((id) => rs.some((r) => r.player === player && r.id === id)));
    const mine = records.filter((r) => r.player === player);
    const seqOf = new Map<string, Set<number | undefined>>();
    for (const r of mine) {
      expect(r.stream).toBe(c.stream);
      seqOf.set(r.id, (seqOf.get(r.id) ?? new Set()).add(r.seq));
    }
    expect(ids.map((id) => [id, seqOf.get(id)])).toEqual(ids.map((id, i) => [id, new Set([i + 1])]));
    expect(c.nextSeq).toBe(ids.length + 1);
  });
});
