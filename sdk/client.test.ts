import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeFrame, encodeFrame } from '../protocol/codec.ts';
import { STREAM_PATTERN } from '../protocol/limits.ts';
import { PlayPulseClient, randomStreamId, type WebSocketLike } from './client.ts';

/** An in-memory socket: records the URL and every frame the client sends; the test plays the edge. */
class FakeSocket implements WebSocketLike {
  static opened: FakeSocket[] = [];
  binaryType = 'blob';
  readyState = 0;
  readonly sent: Record<string, unknown>[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.opened.push(this);
  }

  send(data: Uint8Array): void {
    const d = decodeFrame(data);
    if (!d.ok) throw new Error(d.message);
    this.sent.push(d.frame);
  }

  close(code = 1000, reason = ''): void {
    this.drop(code, reason);
  }

  /** The edge accepts the socket and says hello. */
  hello(stream?: string): void {
    this.readyState = 1;
    this.onopen?.({});
    this.deliver(stream === undefined ? { t: 'hello', player: 'p1', session: 's', serverTime: Date.now() } : { t: 'hello', player: 'p1', session: 's', serverTime: Date.now(), stream });
  }

  deliver(frame: Record<string, unknown>): void {
    const bytes = encodeFrame(frame);
    this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
  }

  drop(code = 1006, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** Every event sent on this socket, as [id, seq]. */
  events(): [string, unknown][] {
    return this.sent.flatMap((f) => (f.t === 'evs' ? (f.events as Record<string, unknown>[]) : f.t === 'ev' ? [f] : [])).map((e) => [e.id as string, e.seq]);
  }
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

function client(extra: Partial<ConstructorParameters<typeof PlayPulseClient>[0]> = {}) {
  return new PlayPulseClient({ url: 'ws://edge/v1/play', token: 'tok', WebSocket: FakeSocket, backoff: { baseMs: 1, maxMs: 2 }, ...extra });
}

async function connected(c: PlayPulseClient): Promise<FakeSocket> {
  const before = FakeSocket.opened.length;
  c.connect();
  await vi.waitFor(() => expect(FakeSocket.opened.length).toBe(before + 1));
  const ws = FakeSocket.opened[before] as FakeSocket;
  ws.hello(c.stream);
  return ws;
}

afterEach(() => {
  FakeSocket.opened = [];
});

describe('PlayPulseClient streams and seq', () => {
  it('picks a random 16-character base64url stream and names it on the upgrade URL', async () => {
    const a = client();
    const b = client();
    expect(a.stream).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(a.stream).not.toBe(b.stream);
    const ws = await connected(a);
    expect(new URL(ws.url).searchParams.get('stream')).toBe(a.stream);
    expect(new URL(ws.url).searchParams.get('token')).toBe('tok');
    await a.close();
  });

  it('uses a given stream and nextSeq, and refuses a malformed stream', async () => {
    expect(() => client({ stream: 'bad stream!' })).toThrow(/stream/);
    expect(() => client({ nextSeq: 0 })).toThrow(/nextSeq/);
    const c = client({ stream: 'save-7', nextSeq: 100 });
    const ws = await connected(c);
    const sent = c.send({ id: 'a', type: 'level.up', data: { level: 1 } });
    await tick();
    expect(new URL(ws.url).searchParams.get('stream')).toBe('save-7');
    expect(ws.events()).toEqual([['a', 100]]);
    expect(c.nextSeq).toBe(101);
    await c.close();
    await expect(sent).rejects.toMatchObject({ code: 'closed' });
  });

  it('numbers events in send order and resends them with the same seq after a reconnect', async () => {
    const c = client();
    const first = await connected(c);
    const acks = ['a', 'b', 'c', 'd'].map((id) => c.send({ id, type: 'match.end', data: { result: 'win' } }));
    await tick();
    expect(first.events()).toEqual([['a', 1], ['b', 2], ['c', 3], ['d', 4]]);
    first.deliver({ t: 'ack', ids: ['b'] });
    await acks[1];
    first.drop();
    await vi.waitFor(() => expect(FakeSocket.opened.length).toBe(2));
    const second = FakeSocket.opened[1] as FakeSocket;
    expect(new URL(second.url).searchParams.get('stream')).toBe(c.stream);
    second.hello(c.stream);
    void c.send({ id: 'e', type: 'match.end', data: { result: 'loss' } });
    await tick();
    expect(second.events()).toEqual([['a', 1], ['c', 3], ['d', 4], ['e', 5]]);
    second.deliver({ t: 'ack', ids: ['a', 'c', 'd', 'e'] });
    await Promise.all(acks);
    expect(c.pending).toBe(0);
    await c.close();
  });

  it('keeps seq when it retries after unavailable or rate_limited', async () => {
    const c = client();
    const ws = await connected(c);
    const done = [c.send({ id: 'x', type: 'level.up', data: { level: 2 } }), c.send({ id: 'y', type: 'level.up', data: { level: 3 } })];
    await tick();
    ws.deliver({ t: 'err', code: 'unavailable', message: 'Kafka is unavailable', id: 'x' });
    await vi.waitFor(() => expect(ws.events().length).toBeGreaterThanOrEqual(4));
    ws.deliver({ t: 'err', code: 'rate_limited', message: 'slow down' });
    await vi.waitFor(() => expect(ws.events().length).toBeGreaterThanOrEqual(6));
    expect(new Set(ws.events().map(([id, seq]) => `${id}:${String(seq)}`))).toEqual(new Set(['x:1', 'y:2']));
    ws.deliver({ t: 'ack', ids: ['x', 'y'] });
    await Promise.all(done);
    await c.close();
  });

  it('rejects send with outbox_full rather than keep more than RESEND_WINDOW events unacked', async () => {
    const c = client({ outboxCapacity: 10_000_000 });
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 65_536; i++) sends.push(c.send({ id: `e${i}`, type: 'x' }));
    expect(c.pending).toBe(65_536);
    await expect(c.send({ id: 'one-more', type: 'x' })).rejects.toMatchObject({ code: 'outbox_full' });
    await c.close();
    const settled = await Promise.allSettled(sends);
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
  });
});

describe('randomStreamId', () => {
  it('is 16 characters of base64url, valid as an upgrade stream', () => {
    const ids = new Set(Array.from({ length: 1_000 }, randomStreamId));
    expect(ids.size).toBe(1_000);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/);
      expect(STREAM_PATTERN.test(id)).toBe(true);
    }
  });
});
