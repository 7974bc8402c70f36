import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registry } from './metrics.ts';

/**
 * Liveness and readiness of one process. Each part registers a readiness check
 * ("kafka-producer", "redis", "consumer"); /readyz is 200 only when all pass.
 */
export class Health {
  private readonly checks = new Map<string, () => boolean>();
  private draining = false;
  /** PLAYPULSE_METRICS_PORT: /metrics is served by serveMetrics, not with the health routes. */
  private metricsApart = false;

  /** From now on the health routes leave /metrics out (it has a port of its own). */
  setMetricsApart(): void {
    this.metricsApart = true;
  }

  get servesMetrics(): boolean {
    return !this.metricsApart;
  }

  addCheck(name: string, check: () => boolean): void {
    this.checks.set(name, check);
  }

  setDraining(): void {
    this.draining = true;
  }

  status(): { ready: boolean; checks: Record<string, boolean>; draining: boolean } {
    const checks: Record<string, boolean> = {};
    let ready = !this.draining;
    for (const [name, check] of this.checks) {
      let ok = false;
      try {
        ok = check();
      } catch {
        ok = false;
      }
      checks[name] = ok;
      if (!ok) ready = false;
    }
    return { ready, checks, draining: this.draining };
  }
}

export interface HealthReply {
  status: number;
  contentType: string;
  body: string;
}

/**
 * Answers /healthz, /readyz and /metrics (unless metrics are served apart); null for any
 * other path. Shared by the edge (uWS) and serveHealth.
 */
export async function healthReply(health: Health, path: string): Promise<HealthReply | null> {
  if (path === '/healthz') return { status: 200, contentType: 'application/json', body: '{"ok":true}' };
  if (path === '/readyz') {
    const s = health.status();
    return { status: s.ready ? 200 : 503, contentType: 'application/json', body: JSON.stringify(s) };
  }
  if (path === '/metrics' && health.servesMetrics) return metricsReply();
  return null;
}

async function metricsReply(): Promise<HealthReply> {
  return { status: 200, contentType: registry.contentType, body: await registry.metrics() };
}

/**
 * PLAYPULSE_METRICS_PORT (docs/operations.md §1): /metrics alone on a port of its own, and no
 * longer with the health routes of `health`. Resolves once listening.
 */
export async function serveMetrics(health: Health, port: number, host = '0.0.0.0'): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    metricsReply().then(
      (reply) => res.writeHead(reply.status, { 'content-type': reply.contentType }).end(reply.body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  health.setMetricsApart();
  return { server, port: (server.address() as AddressInfo).port };
}

/** The health server of a process that runs no edge (HEALTH_PORT). Resolves once listening. */
export async function serveHealth(health: Health, port: number, host = '0.0.0.0'): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    healthReply(health, path).then(
      (reply) => {
        if (!reply) {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
          return;
        }
        res.writeHead(reply.status, { 'content-type': reply.contentType }).end(reply.body);
      },
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
