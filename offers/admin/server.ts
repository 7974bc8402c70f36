import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isPlayPulseError, PlayPulseError } from '../../lib/errors.ts';
import { createLogger } from '../../lib/log.ts';
import { consoleAsset, isConsolePath } from '../console/serve.ts';
import { authorized, errorBody, parseJsonObject, readBody, sendJson } from './http.ts';
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
    summary: 'This OpenAPI 3.1 document',
    response: 'OpenApi',
    errors: [],
    handle: async () => doc(),
  };
}

/**
 * The admin HTTP server (docs/contract.md §5): JSON, every API route behind the bearer admin
 * token, bodies up to MAX_BODY_BYTES, errors as `{ error: { code, message, details } }` and
 * never a stack trace. The designer console's static files (no data in them) are served
 * without the token; the console calls the API with it.
 */
export async function startAdminServer(deps: AdminDeps, port: number, host = '0.0.0.0'): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const routes = adminRoutes();
  const server = createServer((req, res) => {
    handle(deps, routes, req, res).catch((err: unknown) => {
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

async function handle(deps: AdminDeps, routes: readonly Route[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin.invalid');
  const method = req.method ?? 'GET';
  if (method === 'GET' && isConsolePath(url.pathname)) {
    const asset = await consoleAsset(url.pathname);
    if (asset) {
      res.writeHead(asset.status, asset.headers).end(asset.body);
      return;
    }
  }
  if (!authorized(req, deps.config.adminToken)) {
    const err = new PlayPulseError('ADMIN_UNAUTHORIZED', 'missing or wrong admin token (Authorization: Bearer <PLAYPULSE_ADMIN_TOKEN>)');
    res.setHeader('www-authenticate', 'Bearer');
    const { status, body } = errorBody(err);
    sendJson(res, status, body);
    req.resume();
    return;
  }
  const match = matchRoute(routes, method, url.pathname);
  if (match === null || match === 'method') {
    const message = match === 'method' ? `${method} is not allowed on ${url.pathname}` : `no route ${method} ${url.pathname}`;
    const { status, body } = errorBody(new PlayPulseError('ADMIN_NOT_FOUND', message));
    sendJson(res, status, body);
    req.resume();
    return;
  }
  let parsed: Record<string, unknown> | null = null;
  const result = await match.route.handle({
    deps,
    params: match.params,
    query: url.searchParams,
    body: async () => (parsed ??= parseJsonObject(await readBody(req))),
  });
  sendJson(res, 200, result);
}
