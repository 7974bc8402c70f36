import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isPlayPulseError, PlayPulseError } from '../../lib/errors.ts';
import { createLogger } from '../../lib/log.ts';
import { consoleAsset, isConsolePath } from '../console/serve.ts';
import { AdminRateLimit, AdminTokens, allows } from './access.ts';
import { errorBody, parseJsonObject, readBody, sendJson } from './http.ts';
import { openApiDocument, OPENAPI_PATH } from './openapi.ts';
import { matchRoute, ROUTES, type AdminDeps, type Route } from './routes.ts';

const log = createLogger('admin');

/** Every admin route, the OpenAPI document's own included. */
export function adminRoutes(): Route[] {
  const routes: Route[] = [...ROUTES];
  routes.push(openApiRoute(() => doc));
  const doc = openApiDocument(routes, '1');
  return routes;
}

function openApiRoute(doc: () => Record<string, unknown>): Route {
  return {
    method: 'GET',
    path: OPENAPI_PATH,
    operationId: 'getOpenApi',
    role: 'viewer',
    summary: 'This OpenAPI 3.1 document',
    response: 'OpenApi',
    errors: [],
    handle: async () => doc(),
  };
}

/**
 * The admin HTTP server (docs/contract.md §5): JSON, every API route behind a bearer admin
 * token whose role the route allows (403 otherwise), each caller rate-limited (429), bodies up to MAX_BODY_BYTES, errors as `{ error: { code, message, details } }` and
 * never a stack trace. The designer console's static files (no data in them) are served
 * without the token; the console calls the API with it.
 */
export async function startAdminServer(deps: AdminDeps, port: number, host = deps.config.admin.host): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const routes = adminRoutes();
  const gate: Gate = { tokens: new AdminTokens(deps.config.admin.tokens), limit: new AdminRateLimit(deps.config.admin.ratePerSec, deps.config.admin.rateBurst) };
  const server = createServer((req, res) => {
    handle(deps, gate, routes, req, res).catch((err: unknown) => {
      if (isPlayPulseError(err) && err.http < 500) log.debug({ code: err.code, path: req.url }, err.message);
      else log.error({ err, path: req.url }, 'admin request failed');
      if (!res.headersSent) {
        const { status, body } = errorBody(err);
        sendJson(res, status, body);
      } else {
        res.destroy();
      }
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

interface Gate {
  readonly tokens: AdminTokens;
  readonly limit: AdminRateLimit;
}

function refuse(req: IncomingMessage, res: ServerResponse, err: PlayPulseError, headers: Record<string, string> = {}): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  const { status, body } = errorBody(err);
  sendJson(res, status, body);
  req.resume();
}

async function handle(deps: AdminDeps, gate: Gate, routes: readonly Route[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin.invalid');
  const method = req.method ?? 'GET';
  if (method === 'GET' && isConsolePath(url.pathname)) {
    const asset = await consoleAsset(url.pathname);
    if (asset) {
      res.writeHead(asset.status, asset.headers).end(asset.body);
      return;
    }
  }
  const actor = gate.tokens.identify(req);
  // Per token; a request without a known token counts against its remote address.
  const waitMs = gate.limit.take(actor ? `token:${actor.name}` : `address:${req.socket.remoteAddress ?? '?'}`, Date.now());
  if (waitMs > 0) {
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
    refuse(req, res, new PlayPulseError('ADMIN_RATE_LIMITED', `too many admin requests; retry in ${retryAfter} s`, { retryAfterSec: retryAfter }), { 'retry-after': String(retryAfter) });
    return;
  }
  if (!actor) {
    refuse(req, res, new PlayPulseError('ADMIN_UNAUTHORIZED', 'missing or wrong admin token (Authorization: Bearer <an admin token>)'), { 'www-authenticate': 'Bearer' });
    return;
  }
  const match = matchRoute(routes, method, url.pathname);
  if (match === null || match === 'method') {
    const message = match === 'method' ? `${method} is not allowed on ${url.pathname}` : `no route ${method} ${url.pathname}`;
    refuse(req, res, new PlayPulseError('ADMIN_NOT_FOUND', message));
    return;
  }
  if (!allows(actor.role, match.route.role)) {
    log.info({ who: actor.name, role: actor.role, route: `${match.route.method} ${match.route.path}` }, 'admin request refused: role');
    refuse(req, res, new PlayPulseError('ADMIN_FORBIDDEN', `${match.route.method} ${match.route.path} needs the ${match.route.role} role; "${actor.name}" is a ${actor.role}`, { role: actor.role, needs: match.route.role }));
    return;
  }
  let parsed: Record<string, unknown> | null = null;
  const result = await match.route.handle({
    deps,
    params: match.params,
    query: url.searchParams,
    actor,
    body: async () => (parsed ??= parseJsonObject(await readBody(req))),
  });
  sendJson(res, 200, result);
}
