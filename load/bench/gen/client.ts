/**
 * One player's socket in a bench load generator: the `ws` client, plain MessagePack frames
 * (docs/contract.md §3), every server frame read through the shared scenarios module. Each socket
 * is one stream, like an SDK instance: `?stream=` on the upgrade, a seq on every event sent.
 * Pure plumbing: scenario logic lives in the generator jobs.
 */
import { Packr, Unpackr } from 'msgpackr';
import WebSocket from 'ws';
import { EventStream, readServerFrame, type ClientFrame, type OfferPayload } from '../../scenarios/index.ts';

const packr = new Packr({ useRecords: false, variableMapSize: true, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export interface ClientHooks {
  onHello?(now: number): void;
  onAck?(ids: string[], now: number): void;
  onErr?(code: string, id: string | undefined): void;
  onOffer?(offer: OfferPayload, now: number): void;
  onPong?(n: unknown, now: number): void;
  onClose?(code: number, expected: boolean): void;
  onFail?(message: string): void;
}

export interface BenchSocket {
  send(frame: ClientFrame): boolean;
  isOpen(): boolean;
  close(): void;
  /** Bytes queued in the socket and not yet written. */
  buffered(): number;
}

export function connectPlayer(url: string, token: string, hooks: ClientHooks, localAddress?: string): BenchSocket {
  const stream = new EventStream();
  const ws = new WebSocket(`${url}/v1/play?token=${encodeURIComponent(token)}&${stream.query}`, {
    perMessageDeflate: false,
    handshakeTimeout: 30_000,
    ...(localAddress ? { localAddress } : {}),
  });
  let open = false;
  let closing = false;
  ws.binaryType = 'nodebuffer';
  ws.on('open', () => {
    open = true;
  });
  ws.on('error', (err: Error) => hooks.onFail?.(err.message));
  ws.on('unexpected-response', (_req, res) => {
    hooks.onFail?.(`HTTP ${res.statusCode} on upgrade`);
    ws.terminate();
  });
  ws.on('close', (code: number) => {
    open = false;
    hooks.onClose?.(code, closing);
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const now = performance.now();
    if (!isBinary) return hooks.onFail?.('text frame from the server');
    let decoded: unknown;
    try {
      decoded = unpackr.unpack(data);
    } catch {
      return hooks.onFail?.('undecodable frame from the server');
    }
    const f = readServerFrame(decoded);
    switch (f.t) {
      case 'hello':
        return hooks.onHello?.(now);
      case 'ack':
        return hooks.onAck?.(f.ids, now);
      case 'offer':
        return hooks.onOffer?.(f.offer, now);
      case 'pong':
        return hooks.onPong?.(f.n, now);
      case 'err':
        return hooks.onErr?.(f.code, f.id);
      default:
        return hooks.onFail?.('off-contract frame from the server');
    }
  });
  return {
    send(frame) {
      if (!open) return false;
      ws.send(packr.pack(stream.stampFrame(frame)), { binary: true });
      return true;
    },
    isOpen: () => open,
    close() {
      closing = true;
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000, 'done');
    },
    buffered: () => ws.bufferedAmount,
  };
}
