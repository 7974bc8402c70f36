/**
 * The uWS app of the edge: `/v1/play` (WebSocket, auth before the upgrade) and the health
 * routes (`/healthz`, `/readyz`, `/metrics`) on the same port.
 *
 * uWS lifetimes: `req` is valid only synchronously in a handler, so every header is read
 * before the first await and `onAborted` is registered before any async work (the health
 * routes); the WebSocket upgrade is decided and done synchronously; a message's
 * ArrayBuffer is valid only until its handler returns, so frames are decoded (copied)
 * synchronously; a socket is never used after its close handler ran.
 */
import uWS from 'uWebSockets.js';
import type { HttpResponse, TemplatedApp, WebSocket } from 'uWebSockets.js';
import { ERRORS, isPlayPulseError, PlayPulseError } from '../lib/errors.ts';
import type { PlayerAuth } from '../lib/config.ts';
import { healthReply, type Health } from '../lib/health.ts';
import type { Logger } from '../lib/log.ts';
import { STREAM_PATTERN } from '../protocol/limits.ts';
import { tokenFromRequest, verifyPlayerToken } from './auth.ts';
import { edgeMetrics } from './metrics.ts';
import type { UserData } from './session.ts';

export interface AppHandlers {
  readonly auth: PlayerAuth;
  readonly maxPayloadBytes: number;
  readonly maxBackpressureBytes: number;
  readonly idleTimeoutSec: number;
  readonly health: Health;
  readonly log: Logger;
  isDraining(): boolean;
  open(ws: WebSocket<UserData>): void;
  close(ws: WebSocket<UserData>, code: number): void;
}

const STATUS_TEXT: Record<number, string> = { 200: '200 OK', 400: '400 Bad Request', 401: '401 Unauthorized', 404: '404 Not Found', 500: '500 Internal Server Error', 503: '503 Service Unavailable' };

/**
 * uWS force-closes (no close frame, 1006) a message over its own limit, so it is set above
 * the protocol limit: frames up to twice the limit get a proper 1009 from the session, and
 * larger ones are cut off unread.
 */
export function uwsPayloadLimit(maxPayloadBytes: number): number {
  return maxPayloadBytes * 2;
}

export function createEdgeApp(h: AppHandlers): TemplatedApp {
  const app = uWS.App();
  app.ws<UserData>('/v1/play', {
    compression: uWS.DISABLED,
    maxPayloadLength: uwsPayloadLimit(h.maxPayloadBytes),
    maxBackpressure: h.maxBackpressureBytes,
    closeOnBackpressureLimit: 0,
    idleTimeout: h.idleTimeoutSec,
    sendPingsAutomatically: true,
    // Verified and upgraded before the handler returns, never after an await: an upgrade
    // completed later inside res.cork can be dropped right after `open` by the uWS builds we
    // run (docs/delivery.md, "Upgrade"). Token verification is synchronous (edge/auth.ts).
    upgrade: (res, req, context) => {
      if (h.isDraining()) {
        edgeMetrics.upgrades.inc({ outcome: 'draining' });
        writeReply(res, 503, 'application/json', JSON.stringify({ error: 'EDGE_OVERLOADED', message: 'edge draining; connect to another instance' }));
        return;
      }
      let claims;
      try {
        claims = verifyPlayerToken(h.auth, tokenFromRequest(req.getQuery('token'), req.getHeader('authorization')));
      } catch (err) {
        edgeMetrics.upgrades.inc({ outcome: '401' });
        const code = isPlayPulseError(err) ? err.code : 'AUTH_INVALID';
        const message = err instanceof Error ? err.message : 'invalid token';
        res
          .writeStatus(STATUS_TEXT[401] as string)
          .writeHeader('content-type', 'application/json')
          .writeHeader('www-authenticate', 'Bearer')
          .end(JSON.stringify({ error: code, message }));
        return;
      }
      const stream = streamFromQuery(req.getQuery('stream'));
      if (stream === false) {
        edgeMetrics.upgrades.inc({ outcome: '400' });
        writeReply(res, 400, 'application/json', JSON.stringify({ error: 'EDGE_BAD_STREAM', message: ERRORS.EDGE_BAD_STREAM.message }));
        return;
      }
      edgeMetrics.upgrades.inc({ outcome: 'ok' });
      res.upgrade<UserData>(
        { player: claims.player, expMs: claims.expMs, stream, session: null },
        req.getHeader('sec-websocket-key'),
        '',
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (ws) => guard(h.log, 'open', () => h.open(ws)),
    message: (ws, message, isBinary) =>
      guard(h.log, 'message', () => ws.getUserData().session?.onMessage(new Uint8Array(message), isBinary)),
    drain: () => undefined,
    close: (ws, code) => guard(h.log, 'close', () => h.close(ws, code)),
  });
  app.any('/*', (res, req) => {
    const path = req.getUrl();
    const method = req.getMethod();
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    if (method !== 'get' && method !== 'head') {
      reply(res, 404, 'application/json', '{"error":"not found"}');
      return;
    }
    healthReply(h.health, path).then(
      (r) => {
        if (aborted) return;
        if (r) reply(res, r.status, r.contentType, r.body);
        else reply(res, 404, 'application/json', '{"error":"not found"}');
      },
      (err: unknown) => {
        h.log.error({ err }, 'health reply failed');
        if (!aborted) reply(res, 500, 'application/json', '{"error":"internal"}');
      },
    );
  });
  return app;
}

/**
 * The upgrade's `?stream=` (decoded as uWS decodes query values): undefined when absent,
 * false when present but not 1..64 of [A-Za-z0-9_.:-] (an empty `stream=` included).
 */
export function streamFromQuery(value: string | undefined): string | undefined | false {
  if (value === undefined) return undefined;
  return STREAM_PATTERN.test(value) ? value : false;
}

/** A reply from outside a uWS handler (after an await): corked, one syscall. */
function reply(res: HttpResponse, status: number, contentType: string, body: string): void {
  res.cork(() => writeReply(res, status, contentType, body));
}

/** A reply from inside a uWS handler, which uWS has corked already. */
function writeReply(res: HttpResponse, status: number, contentType: string, body: string): void {
  res
    .writeStatus(STATUS_TEXT[status] ?? `${status} Status`)
    .writeHeader('content-type', contentType)
    .end(body);
}

/** An exception in a uWS handler would take the process down: log it instead. */
function guard(log: Logger, what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    log.error({ err }, `edge ${what} handler failed`);
  }
}

/** Listens on `port` (0: a free one); resolves with the listen socket and the real port. */
export function listen(app: TemplatedApp, port: number): Promise<{ socket: uWS.us_listen_socket; port: number }> {
  return new Promise((resolve, reject) => {
    app.listen(port, (socket) => {
      if (!socket) reject(new PlayPulseError('LISTEN_FAILED', `edge cannot listen on port ${port}`));
      else resolve({ socket, port: uWS.us_socket_local_port(socket as unknown as uWS.us_socket) });
    });
  });
}

export function closeListenSocket(socket: uWS.us_listen_socket): void {
  uWS.us_listen_socket_close(socket);
}
