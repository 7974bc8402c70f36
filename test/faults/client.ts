/**
 * A raw protocol-v1 client for fault and abuse tests: `ws` for the socket and
 * `@msgpack/msgpack` (an implementation independent of the server's) for the frames, so
 * the tests see exactly what a third-party game client would. It remembers everything the
 * edge sent: hello, acked ids, errors, offers, pongs and how the socket closed.
 */
import { decode, encode } from '@msgpack/msgpack';
import { WebSocket } from 'ws';

export interface WireEvent {
  id: string;
  type: string;
  ts?: number;
  data?: Record<string, unknown>;
  /** Place in the socket's stream (ConnectOptions.stream); kept on every resend. */
  seq?: number;
}

export interface ServerError {
  code: string;
  message: string;
  id?: string;
}

export interface ReceivedOffer {
  id: string;
  ruleId: string;
  expiresAt: number;
  [k: string]: unknown;
}

export interface ConnectOptions {
  /** Send the token as `Authorization: Bearer` instead of `?token=`. */
  bearer?: boolean;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Do not read from the socket (a slow reader). */
  paused?: boolean;
  /** The upgrade's `?stream=`: the client's event sequence, whose events carry `seq`. */
  stream?: string;
}

/** The upgrade was refused with an HTTP status (401, 503, …). */
export class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`upgrade refused with HTTP ${status}`);
    this.name = 'UpgradeRefused';
  }
}

export class TestClient {
  readonly acked = new Set<string>();
  readonly errors: ServerError[] = [];
  readonly offers: ReceivedOffer[] = [];
  readonly pongs: unknown[] = [];
  readonly unknownFrames: unknown[] = [];
  hello: { player: string; session: string; serverTime: number; stream?: string } | null = null;
  closeCode: number | null = null;
  closeReason = '';
  readonly closed: Promise<number>;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString('utf8');
        this.notify();
        resolve(code);
      });
    });
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('error', () => undefined);
  }

  /** Opens a socket and waits for the `hello` frame. Rejects with UpgradeRefused on an HTTP refusal. */
  static connect(url: string, token: string | null, options: ConnectOptions = {}): Promise<TestClient> {
    const params = new URLSearchParams();
    if (token !== null && !options.bearer) params.set('token', token);
    if (options.stream !== undefined) params.set('stream', options.stream);
    const query = params.toString();
    const target = query === '' ? url : `${url}${url.includes('?') ? '&' : '?'}${query}`;
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (token !== null && options.bearer) headers.authorization = `Bearer ${token}`;
    const ws = new WebSocket(target, { headers, perMessageDeflate: false, handshakeTimeout: options.timeoutMs ?? 10_000 });
    const client = new TestClient(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error('no hello within the timeout'));
      }, options.timeoutMs ?? 10_000);
      ws.once('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        res.resume();
        reject(new UpgradeRefused(res.statusCode ?? 0));
        ws.terminate();
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.once('open', () => {
        if (options.paused) {
          clearTimeout(timer);
          ws.pause();
          resolve(client);
        }
      });
      client
        .until(() => client.hello !== null || client.closeCode !== null, options.timeoutMs ?? 10_000)
        .then(() => {
          clearTimeout(timer);
          if (client.hello) resolve(client);
          else reject(new Error(`closed before hello: ${client.closeCode} ${client.closeReason}`));
        }, reject);
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  sendFrame(frame: unknown): void {
    this.sendBytes(encode(frame));
  }

  sendBytes(bytes: Uint8Array): void {
    if (this.open) this.ws.send(bytes, { binary: true });
  }

  sendEvents(events: readonly WireEvent[]): void {
    if (events.length === 1) this.sendFrame({ t: 'ev', ...events[0] });
    else this.sendFrame({ t: 'evs', events });
  }

  /** Resolves once `predicate` holds (checked on every frame and on close); rejects after `timeoutMs`. */
  until(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate()) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`condition not met within ${timeoutMs} ms (acked ${this.acked.size}, errors ${this.errors.length}, close ${this.closeCode})`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  close(code = 1000): void {
    if (this.open) this.ws.close(code);
  }

  terminate(): void {
    this.ws.terminate();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    let frame: Record<string, unknown>;
    try {
      frame = decode(data) as Record<string, unknown>;
    } catch {
      this.unknownFrames.push({ undecodable: data.length, isBinary });
      return;
    }
    switch (frame.t) {
      case 'hello':
        this.hello = frame as unknown as TestClient['hello'];
        break;
      case 'ack':
        for (const id of (frame.ids as string[] | undefined) ?? []) this.acked.add(id);
        break;
      case 'err':
        this.errors.push(frame as unknown as ServerError);
        break;
      case 'offer':
        this.offers.push(frame.offer as ReceivedOffer);
        break;
      case 'pong':
        this.pongs.push(frame.n);
        break;
      default:
        this.unknownFrames.push(frame);
    }
    this.notify();
  }
}
