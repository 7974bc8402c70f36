/**
 * Admin access (docs/contract.md §5, docs/operations.md "Admin access"): roles on every route
 * of the table, the audit log of publishes, rollbacks and mode changes, the per-caller rate
 * limit, the bind address, and /metrics on a port of its own. Real Redis.
 */
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { sleep } from '../../lib/time.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ROLES, type AdminRole, type Config } from '../../lib/config.ts';
import { Health, serveHealth, serveMetrics } from '../../lib/health.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { readBundleDir } from '../../designer/load.ts';
import type { AuditEntry } from '../../designer/audit.ts';
import { BundleStore } from '../../designer/store.ts';
import { adminRoutes, startAdminServer } from '../../offers/admin/server.ts';
import { startOffers } from '../../offers/index.ts';
import { cleanupRedisPrefix, testConfig } from '../helpers/stack.ts';

const RULES_DIR = resolve(import.meta.dirname, '../../offers/rules');

const TOKENS: Record<string, { role: AdminRole; token: string }> = {
  admin: { role: 'publisher', token: 'legacy-admin-token-0123456789abcdef' },
  vera: { role: 'viewer', token: 'viewer-token-0123456789abcdef01' },
  eddie: { role: 'editor', token: 'editor-token-0123456789abcdef01' },
  pia: { role: 'publisher', token: 'publisher-token-0123456789abcdef' },
};
const NAMED = Object.entries(TOKENS)
  .filter(([name]) => name !== 'admin')
  .map(([name, t]) => `${name}:${t.role}:${t.token}`)
  .join(',');

let config: Config;
let redis: RedisClient;
let store: BundleStore;
let offers: { adminPort: number; stop(): Promise<void> };
let base: string;

beforeAll(async () => {
  config = testConfig({ PLAYPULSE_ADMIN_TOKEN: TOKENS.admin?.token, PLAYPULSE_ADMIN_TOKENS: NAMED, PLAYPULSE_ADMIN_HOST: '127.0.0.1' });
  redis = createRedis(config.redisUrl ?? '', 'test-admin-access');
  store = await BundleStore.open(redis, config.keyPrefix, { fallbackDir: RULES_DIR });
  offers = await startOffers({ config, health: new Health(), bundles: store });
  base = `http://127.0.0.1:${offers.adminPort}`;
});

afterAll(async () => {
  await offers?.stop();
  await store?.close();
  await cleanupRedisPrefix(redis, config.keyPrefix);
  redis.disconnect();
});

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(url: string, method: string, path: string, who: string | null, body?: unknown): Promise<Reply> {
  const token = who === null ? null : (TOKENS[who]?.token ?? who);
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const concrete = (path: string) => path.replace('{id}', 'player-1');
const rank = (role: AdminRole) => ADMIN_ROLES.indexOf(role);

/** An audit entry as the API sends it: the stored entry in JSON. */
type Entry = AuditEntry;

describe('admin roles', () => {
  it('refuses with 403 ADMIN_FORBIDDEN every route of the table a role is below, and lets every other through', async () => {
    const routes = adminRoutes();
    // Every role guards some route, so a new route of any role falls under this loop.
    expect(new Set(routes.map((r) => r.role))).toEqual(new Set(ADMIN_ROLES));
    let refused = 0;
    let passed = 0;
    for (const route of routes) {
      for (const [who, { role }] of Object.entries(TOKENS)) {
        // A bundle that does not parse: a publish is refused with 422, so a rollback finds no earlier version, and nothing changes.
        const res = await call(base, route.method, concrete(route.path), who, route.method === 'GET' ? undefined : { files: { 'bad.yaml': 'id: [unclosed\n' } });
        const what = `${who} (${role}) ${route.method} ${route.path}`;
        if (rank(role) < rank(route.role)) {
          expect({ what, status: res.status }).toEqual({ what, status: 403 });
          expect(res.body).toEqual({ error: { code: 'ADMIN_FORBIDDEN', message: expect.stringContaining(route.role), details: { role, needs: route.role } } });
          refused += 1;
        } else {
          expect({ what, refused: [401, 403, 429].includes(res.status) }).toEqual({ what, refused: false });
          passed += 1;
        }
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(passed).toBeGreaterThan(refused);
    // Nothing above changed the rules, so nothing was audited.
    const log = await call(base, 'GET', '/v1/audit', 'vera');
    expect(log.body.entries).toEqual([]);
  });

  it('answers 401 for an unknown token, unchanged', async () => {
    const res = await call(base, 'GET', '/v1/rules', 'not-a-known-token-0123456789abcdef');
    expect(res.status).toBe(401);
    expect((res.body.error as { code: string }).code).toBe('ADMIN_UNAUTHORIZED');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('binds the admin API to PLAYPULSE_ADMIN_HOST', async () => {
    const server = await startAdminServer({ config, redis, bundles: store, readState: async () => null as never }, 0);
    try {
      expect((server.server.address() as AddressInfo).address).toBe('127.0.0.1');
    } finally {
      await server.close();
    }
  });
});

describe('audit log', () => {
  it('records who published, rolled back and changed a mode, the versions from and to, and what changed', async () => {
    const v0 = store.current().version;
    const files = readBundleDir(RULES_DIR);
    const original = files['comeback-bundle.yaml'] ?? '';
    expect(original).toMatch(/^mode: live/m);
    files['comeback-bundle.yaml'] = original.replace(/^mode: live/m, 'mode: shadow');

    const refused = await call(base, 'PUT', '/v1/rules', 'eddie', { files });
    expect(refused.status).toBe(403);
    const t0 = Date.now();
    const put = await call(base, 'PUT', '/v1/rules', 'pia', { files, message: 'comeback to shadow' });
    expect(put.status).toBe(200);
    const v1 = put.body.version as number;
    expect(v1).toBeGreaterThan(v0);

    let log = (await call(base, 'GET', '/v1/audit', 'vera')).body.entries as Entry[];
    expect(log.map((e) => e.action)).toEqual(['mode', 'publish']);
    for (const e of log) {
      expect(e).toMatchObject({ who: 'pia', role: 'publisher', via: 'api', from: v0, to: v1, restored: null, message: 'comeback to shadow' });
      expect(e.at).toBeGreaterThanOrEqual(t0);
      expect(e.modes).toEqual([{ rule: 'comeback-bundle', from: 'live', to: 'shadow' }]);
      expect(e.summary.rulesChanged).toEqual(['comeback-bundle']);
      expect(e.files).toEqual([{ name: 'comeback-bundle.yaml', status: 'changed' }]);
    }
    const history = (await call(base, 'GET', '/v1/rules/history?limit=1', 'vera')).body.versions as { version: number; meta: { author?: string } }[];
    expect(history[0]).toMatchObject({ version: v1, meta: { author: 'pia' } });

    const back = await call(base, 'POST', '/v1/rules/rollback', 'admin');
    expect(back.status).toBe(200);
    const v2 = back.body.version as number;
    log = (await call(base, 'GET', '/v1/audit', 'eddie')).body.entries as Entry[];
    expect(log.map((e) => [e.action, e.who, e.from, e.to])).toEqual([
      ['mode', 'admin', v1, v2],
      ['rollback', 'admin', v1, v2],
      ['mode', 'pia', v0, v1],
      ['publish', 'pia', v0, v1],
    ]);
    expect(log[1]).toMatchObject({ restored: v0, modes: [{ rule: 'comeback-bundle', from: 'shadow', to: 'live' }] });

    // A publish that changes no mode writes one entry.
    const again = await call(base, 'PUT', '/v1/rules', 'pia', { files: { ...readBundleDir(RULES_DIR), 'policy.yaml': `${readBundleDir(RULES_DIR)['policy.yaml'] ?? ''}\n# a comment\n` } });
    expect(again.status).toBe(200);
    const newest = (await call(base, 'GET', '/v1/audit?limit=1', 'vera')).body.entries as Entry[];
    expect(newest).toHaveLength(1);
    expect(newest[0]).toMatchObject({ action: 'publish', who: 'pia', from: v2, to: again.body.version as number, modes: [] });
    expect((await call(base, 'GET', '/v1/audit', 'vera')).body.entries).toHaveLength(5);
    expect((await call(base, 'GET', '/v1/audit?limit=0', 'vera')).status).toBe(400);
  });
});

describe('admin rate limit', () => {
  it('answers 429 with Retry-After once a caller has spent its burst, per token and per address, and lets it on after the wait', async () => {
    const limited = testConfig({ PLAYPULSE_ADMIN_TOKEN: TOKENS.admin?.token, PLAYPULSE_ADMIN_TOKENS: NAMED, PLAYPULSE_ADMIN_RATE_PER_SEC: '1', PLAYPULSE_ADMIN_RATE_BURST: '3', PLAYPULSE_KEY_PREFIX: config.keyPrefix });
    const server = await startAdminServer({ config: limited, redis, bundles: store, readState: async () => null as never }, 0, '127.0.0.1');
    const url = `http://127.0.0.1:${server.port}`;
    try {
      const statuses: number[] = [];
      let refusal: Reply | null = null;
      // A full bucket lets the first 3 through; refilling 1 a second cannot keep up with back-to-back requests for long.
      for (let i = 0; i < 50 && refusal === null; i++) {
        const res = await call(url, 'GET', '/v1/rules', 'vera');
        statuses.push(res.status);
        if (res.status === 429) refusal = res;
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(refusal?.body.error).toMatchObject({ code: 'ADMIN_RATE_LIMITED' });
      const retryAfter = Number(refusal?.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);

      // Another token has a bucket of its own.
      expect((await call(url, 'GET', '/v1/rules', 'pia')).status).toBe(200);
      // Without a known token, the remote address is the caller: 401s until its burst is spent, then 429.
      const anonymous: number[] = [];
      for (let i = 0; i < 50 && !anonymous.includes(429); i++) anonymous.push((await call(url, 'GET', '/v1/rules', null)).status);
      expect(anonymous.slice(0, 3)).toEqual([401, 401, 401]);
      expect(anonymous.at(-1)).toBe(429);

      await sleep(retryAfter * 1000);
      expect((await call(url, 'GET', '/v1/rules', 'vera')).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('PLAYPULSE_METRICS_PORT', () => {
  it('moves /metrics off the health port onto a port of its own', async () => {
    const health = new Health();
    const h = await serveHealth(health, 0, '127.0.0.1');
    try {
      const before = await fetch(`http://127.0.0.1:${h.port}/metrics`);
      expect(before.status).toBe(200);
      await before.text();
      const m = await serveMetrics(health, 0, '127.0.0.1');
      try {
        const metrics = await fetch(`http://127.0.0.1:${m.port}/metrics`);
        expect(metrics.status).toBe(200);
        expect(await metrics.text()).toMatch(/^# HELP /m);
        const healthz = await fetch(`http://127.0.0.1:${m.port}/healthz`);
        expect(healthz.status).toBe(404);
        await healthz.text();
        const after = await fetch(`http://127.0.0.1:${h.port}/metrics`);
        expect(after.status).toBe(404);
        await after.text();
        const alive = await fetch(`http://127.0.0.1:${h.port}/healthz`);
        expect(alive.status).toBe(200);
        await alive.text();
      } finally {
        await new Promise<void>((r) => m.server.close(() => r()));
      }
    } finally {
      await new Promise<void>((r) => h.server.close(() => r()));
    }
  });
});
