/**
 * A fresh WebSocket stays open after the upgrade, whatever the handshake's `Connection`
 * header says (docs/delivery.md, "Ingest: from frame to ack"). The uWS builds we run close a socket right after
 * `open` (1006, no close frame) when `res.upgrade` runs inside `res.cork` outside the
 * request handler (an upgrade completed after an await) and the reallocated socket memory
 * happens to read as "HTTP connection close". With a `Connection: close` handshake that
 * happens every time, so these raw handshakes make the regression deterministic; the edge
 * upgrades inside the request handler, where uWS tracks the upgrade itself.
 */
import net from 'node:net';
import { decode, encode } from '@msgpack/msgpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, startTestEdge, type TestEdge } from './edge-harness.ts';

let edge: TestEdge;

beforeAll(async () => {
  edge = await startTestEdge();
});

afterAll(async () => {
  await edge.stop();
  await cleanup(edge.config);
});

interface RawOutcome {
  status: string;
  /** Server frames decoded, in order. */
  frames: Record<string, unknown>[];
  /** The socket was closed by the server before the client's `close` frame. */
  droppedEarly: boolean;
}

/**
 * Upgrades over a raw socket with the given `Connection` header, sends a `ping` frame after
 * the `hello`, waits for its `pong`, then `holdMs` more, and reports what happened.
 */
function rawUpgrade(port: number, token: string, connection: string, holdMs = 150): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let status = '';
    const frames: Record<string, unknown>[] = [];
    let settled = false;
    const finish = (droppedEarly: boolean): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ status, frames, droppedEarly });
    };
    const timer = setTimeout(() => reject(new Error(`no pong within 5 s; frames so far: ${JSON.stringify(frames)}`)), 5_000);
    socket.on('connect', () => {
      socket.write(
        [
          `GET /v1/play?token=${encodeURIComponent(token)} HTTP/1.1`,
          'Host: 127.0.0.1',
          'Upgrade: websocket',
          `Connection: ${connection}`,
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Version: 13',
          '',
          '',
        ].join('\r\n'),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!status) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        status = buf.subarray(0, buf.indexOf('\r\n')).toString();
        buf = buf.subarray(end + 4);
      }
      for (let frame = readFrame(buf); frame; frame = readFrame(buf)) {
        buf = buf.subarray(frame.size);
        if (frame.opcode !== 2) continue;
        const decoded = decode(frame.payload) as Record<string, unknown>;
        frames.push(decoded);
        if (decoded.t === 'hello') socket.write(maskedBinary(encode({ t: 'ping', n: 1 })));
        if (decoded.t === 'pong') {
          clearTimeout(timer);
          setTimeout(() => finish(false), holdMs);
        }
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      finish(true);
    });
    socket.on('error', () => undefined);
  });
}

function readFrame(buf: Buffer): { opcode: number; payload: Buffer; size: number } | null {
  if (buf.length < 2) return null;
  const opcode = (buf[0] as number) & 0x0f;
  let len = (buf[1] as number) & 0x7f;
  let offset = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    offset = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    offset = 10;
  }
  if (buf.length < offset + len) return null;
  return { opcode, payload: buf.subarray(offset, offset + len), size: offset + len };
}

/** A client-to-server binary frame (clients must mask). */
function maskedBinary(payload: Uint8Array): Buffer {
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const header = payload.length < 126 ? Buffer.from([0x82, 0x80 | payload.length]) : Buffer.from([0x82, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const body = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
  return Buffer.concat([header, mask, body]);
}

describe('edge upgrade', () => {
  for (const connection of ['Upgrade', 'close', 'Upgrade, close', 'keep-alive, Upgrade']) {
    it(`keeps the socket open after a handshake with "Connection: ${connection}"`, async () => {
      const runs = [];
      for (let i = 0; i < 10; i++) runs.push(await rawUpgrade(edge.edge.port, await edge.token(`raw-${i}`), connection));
      for (const r of runs) {
        expect(r.status).toBe('HTTP/1.1 101 Switching Protocols');
        expect(r.frames.map((f) => f.t)).toEqual(['hello', 'pong']);
        expect(r.droppedEarly).toBe(false);
      }
    });
  }

  it('answers a bad token with 401 and no upgrade, on a raw handshake too', async () => {
    const r = await new Promise<string>((resolve) => {
      const socket = net.connect(edge.edge.port, '127.0.0.1', () =>
        socket.write('GET /v1/play?token=nope HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(text);
        }
      });
    });
    expect(r.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
    expect(r.toLowerCase()).toContain('www-authenticate: bearer');
  });
});
