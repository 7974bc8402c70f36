import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.ts';
import { Health } from '../../lib/health.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { adminRoutes } from '../../offers/admin/server.ts';
import { readBundleDir } from '../../designer/load.ts';
import { BundleStore } from '../../designer/store.ts';
import { createDecider, type ClosableDecider } from '../../offers/engine/decider.ts';
import { startOffers } from '../../offers/index.ts';
import { cleanupRedisPrefix, testConfig } from '../helpers/stack.ts';
import { noonDaysAgo } from '../helpers/time.ts';
import { eventually, loss } from './offers-fixtures.ts';

const RULES_DIR = resolve(import.meta.dirname, '../../offers/rules');

let config: Config;
let redis: RedisClient;
let otherRedis: RedisClient;
let store: BundleStore;
/** A second store on its own connection: what a processor or edge process holds. */
let processStore: BundleStore;
let decider: ClosableDecider;
let offers: { adminPort: number; stop(): Promise<void> };
let base: string;

beforeAll(async () => {
  config = testConfig({ PLAYPULSE_ADMIN_TOKEN: 'admin-token-for-tests-0123456789' });
  redis = createRedis(config.redisUrl ?? '', 'test-admin');
  otherRedis = createRedis(config.redisUrl ?? '', 'test-admin-process');
  store = await BundleStore.open(redis, config.keyPrefix, { fallbackDir: RULES_DIR });
  processStore = await BundleStore.open(otherRedis, config.keyPrefix);
  decider = createDecider({ config, redis: otherRedis, bundles: processStore, queues: null });
  offers = await startOffers({ config, health: new Health(), bundles: store });
  base = `http://127.0.0.1:${offers.adminPort}`;
});

afterAll(async () => {
  await offers?.stop();
  await decider?.close();
  await store?.close();
  await processStore?.close();
  await cleanupRedisPrefix(redis, config.keyPrefix);
  redis.disconnect();
  otherRedis.disconnect();
});

const auth = { authorization: 'Bearer admin-token-for-tests-0123456789' };

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const concrete = (path: string) => path.replace('{id}', 'player-1');

describe('admin API', () => {
  it('answers 401 on every route without the token or with a wrong one, with no stack trace', async () => {
    for (const route of adminRoutes()) {
      for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: 'Basic YWRtaW46YWRtaW4=' }] as Record<string, string>[]) {
        const res = await call(route.method, concrete(route.path), route.method === 'GET' ? undefined : { files: {} }, headers);
        expect(res.status, `${route.method} ${route.path}`).toBe(401);
        expect(res.body).toEqual({ error: { code: 'ADMIN_UNAUTHORIZED', message: expect.any(String), details: {} } });
      }
    }
  });

  it('documents exactly the routes it serves in /v1/openapi.json', async () => {
    const res = await call('GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(res.body.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) documented.add(`${method.toUpperCase()} ${path}`);
    }
    const served = new Set(adminRoutes().map((r) => `${r.method} ${r.path}`));
    expect(documented).toEqual(served);
    for (const key of documented) {
      const [method, path] = key.split(' ') as [string, string];
      const probe = await call(method, concrete(path), method === 'GET' ? undefined : {});
      const error = probe.body.error as { message?: string } | undefined;
      expect(error?.message ?? '', key).not.toMatch(/^no route|is not allowed/);
    }
    const unknown = await call('GET', '/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect((unknown.body.error as { code: string }).code).toBe('ADMIN_NOT_FOUND');
  });

  it('serves the published version, its number and files', async () => {
    const res = await call('GET', '/v1/rules');
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(1);
    expect(Object.keys(res.body.files as object).sort()).toEqual(Object.keys(readBundleDir(RULES_DIR)).sort());
    expect((res.body.rules as { id: string }[]).map((r) => r.id)).toContain('comeback-bundle');
  });

  it('validates a bundle and reports file, line and message', async () => {
    const files = { ...readBundleDir(RULES_DIR), 'comeback-bundle.yaml': readBundleDir(RULES_DIR)['comeback-bundle.yaml']?.replace('player.loss_streak >= 3', 'player.los_streak >= 3') ?? '' };
    const res = await call('POST', '/v1/rules/validate', { files });
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(false);
    const [d] = res.body.diagnostics as { file: string; line: number; message: string; severity: string }[];
    const line = (files['comeback-bundle.yaml'] ?? '').split('\n').findIndex((l) => l.includes('los_streak')) + 1;
    expect(d).toMatchObject({ file: 'comeback-bundle.yaml', line, severity: 'error' });
    expect(d?.message).toContain('los_streak');
    const good = await call('POST', '/v1/rules/validate', { files: readBundleDir(RULES_DIR) });
    expect(good.body.ok).toBe(true);
  });

  it('refuses to publish a bundle with a type error, and every process keeps the old version', async () => {
    const before = (await call('GET', '/v1/rules')).body.version;
    const files = { ...readBundleDir(RULES_DIR), 'comeback-bundle.yaml': readBundleDir(RULES_DIR)['comeback-bundle.yaml']?.replace('player.loss_streak >= 3', 'player.loss_streak >= "three"') ?? '' };
    const res = await call('PUT', '/v1/rules', { files });
    expect(res.status).toBe(422);
    const error = res.body.error as { code: string; message: string; details: { diagnostics: { file: string; code: string }[] } };
    expect(error.code).toBe('RULE_TYPE_ERROR');
    expect(error.details.diagnostics[0]).toMatchObject({ file: 'comeback-bundle.yaml', code: 'RULE_TYPE_ERROR' });
    expect((await call('GET', '/v1/rules')).body.version).toBe(before);
    expect(store.current().version).toBe(before);
    expect(processStore.current().version).toBe(before);
  });

  it('publishes a good bundle live everywhere within a second, and rolls it back', async () => {
    const v1 = store.current().version;
    const files = {
      ...readBundleDir(RULES_DIR),
      'policy.yaml': 'holdout: { percent: 0 }\n',
      'comeback-bundle.yaml': (readBundleDir(RULES_DIR)['comeback-bundle.yaml'] ?? '').replace(/experiment:[\s\S]*$/, '').replace('>= 3', '>= 1'),
    };
    const diff = await call('POST', '/v1/rules/diff', { files });
    expect(diff.status).toBe(200);
    expect((diff.body.summary as { rulesChanged: string[] }).rulesChanged).toEqual(['comeback-bundle']);
    expect(diff.body.text).toContain('rules changed: comeback-bundle');

    const res = await call('PUT', '/v1/rules', { files, message: 'looser comeback' });
    expect(res.status).toBe(200);
    const v2 = res.body.version as number;
    expect(v2).toBeGreaterThan(v1);
    await eventually(async () => (processStore.current().version === v2 ? true : undefined), 1_000, 'the other process switching to the new version');
    await decider.decideBatch([loss('ana', noonDaysAgo(1), 1, 'ev-1')]);
    const decisions = await call('GET', '/v1/players/ana/decisions');
    const [d] = decisions.body.decisions as { rules: { ruleId: string; outcome: string }[]; bundleVersion: number }[];
    expect(d?.bundleVersion).toBe(v2);
    expect(d?.rules.find((r) => r.ruleId === 'comeback-bundle')?.outcome).toBe('offered');

    const versions = await call('GET', `/v1/rules/diff?from=${v1}&to=${v2}`);
    expect((versions.body.summary as { policyChanged: boolean }).policyChanged).toBe(true);

    const back = await call('POST', '/v1/rules/rollback');
    expect(back.status).toBe(200);
    expect(back.body.restored).toBe(v1);
    const v3 = back.body.version as number;
    await eventually(async () => (processStore.current().version === v3 ? true : undefined), 1_000, 'the other process rolling back');
    expect(processStore.current().files).toEqual(readBundleDir(RULES_DIR));
    expect((await call('GET', '/v1/rules')).body.files).toEqual(readBundleDir(RULES_DIR));
  });

  it('shows a player as the rules see them, with the pending inbox', async () => {
    const res = await call('GET', '/v1/players/ana');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: 'ana', player: { id: 'ana', loss_streak: 0, offers_today: expect.any(Number) } });
    // The sample's segments the rules use: a player with few events is a newcomer; without spend, no whale.
    expect(res.body.segments).toEqual({ whales: false, newcomers: true });
    expect(Array.isArray(res.body.inbox)).toBe(true);
    const bad = await call('GET', '/v1/players/not%20valid');
    expect(bad.status).toBe(400);
    expect((bad.body.error as { code: string }).code).toBe('ADMIN_BAD_REQUEST');
  });

  it('serves per rule and variant stats', async () => {
    const res = await call('GET', '/v1/stats/rules');
    expect(res.status).toBe(200);
    const rows = res.body.rules as { ruleId: string; variant: string; triggered: number; offered: number }[];
    expect(rows.find((r) => r.ruleId === 'comeback-bundle' && r.variant === 'default')).toMatchObject({ triggered: 1, offered: 1 });
    expect(rows.filter((r) => r.ruleId === 'comeback-bundle').map((r) => r.variant).sort()).toEqual(['a', 'control', 'default']);
  });

  it("serves the published segments with their condition, cap and today's count", async () => {
    const utcDay = () => new Date().toISOString().slice(0, 10);
    const before = utcDay();
    const res = await call('GET', '/v1/segments');
    expect(res.status).toBe(200);
    expect([before, utcDay()]).toContain(res.body.day);
    const rows = res.body.segments as { name: string; condition: string; active: boolean; maxOffersPerDay: number | null; today: number }[];
    expect(rows.map((r) => r.name)).toEqual(['whales', 'newcomers']);
    expect(rows[0]).toMatchObject({ condition: 'player.revenue_30d >= 5000', active: true, maxOffersPerDay: 5, today: expect.any(Number) });
    expect(rows[1]).toMatchObject({ condition: 'player.events_total < 20', active: true, maxOffersPerDay: null });
  });

  it('refuses bad bodies clearly: not JSON, not an object, no files, too large', async () => {
    const notJson = await call('PUT', '/v1/rules', '{nope');
    expect(notJson.status).toBe(400);
    expect((notJson.body.error as { code: string }).code).toBe('ADMIN_BAD_REQUEST');
    expect((await call('POST', '/v1/rules/validate', [1, 2])).status).toBe(400);
    expect((await call('POST', '/v1/rules/validate', { files: { 'a.yaml': 3 } })).status).toBe(400);
    const huge = await call('PUT', '/v1/rules', { files: { 'a.yaml': 'x'.repeat(3 * 1024 * 1024) } });
    expect(huge.status).toBe(413);
    expect(JSON.stringify(huge.body)).not.toMatch(/at .*\.ts:\d+/);
    expect(store.current().version).toBeGreaterThan(0);
  });

  it("serves each rule's schedule and whether it holds now, and validates schedules with their line", async () => {
    const now = Date.now();
    const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString();
    const rule = (id: string, schedule: string) =>
      `id: ${id}\ntrigger:\n  event: match.end\n  when: 'event.data.result == "draw"'\noffer:\n  sku: bundle.${id}\n  price: { amount: 99, currency: USD }\n  ttl: 1h\nschedule:\n${schedule}`;
    const files = {
      ...readBundleDir(RULES_DIR),
      'sched-now.yaml': rule('sched-now', `  start: "${iso(now - 3_600_000)}"\n  end: "${iso(now + 3_600_000)}"\n`),
      'sched-later.yaml': rule('sched-later', `  start: "${iso(now + 86_400_000)}"\n  timeZone: Europe/Berlin\n  weekly:\n    - { days: [sun, mon, tue, wed, thu, fri, sat], from: "00:00", to: "24:00" }\n`),
    };
    const before = store.current().version;
    const put = await call('PUT', '/v1/rules', { files, message: 'scheduled rules' });
    expect(put.status).toBe(200);
    const res = await call('GET', '/v1/rules');
    const rules = res.body.rules as { id: string; schedule: Record<string, unknown> | null }[];
    expect(rules.find((r) => r.id === 'comeback-bundle')?.schedule).toBeNull();
    expect(rules.find((r) => r.id === 'sched-now')?.schedule).toEqual({ start: iso(now - 3_600_000), end: iso(now + 3_600_000), timeZone: 'UTC', weekly: null, playerTimeZone: null, activeNow: true, nextStart: null });
    expect(rules.find((r) => r.id === 'sched-later')?.schedule).toEqual({
      start: iso(now + 86_400_000),
      end: null,
      timeZone: 'Europe/Berlin',
      playerTimeZone: null,
      weekly: [{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], from: '00:00', to: '24:00' }],
      activeNow: false,
      nextStart: iso(now + 86_400_000),
    });
    const back = await call('POST', '/v1/rules/rollback');
    expect(back.body.restored).toBe(before);

    const bad = await call('POST', '/v1/rules/validate', { files: { ...files, 'sched-now.yaml': rule('sched-now', '  timeZone: Mars/Olympus\n  weekly:\n    - { days: [sat], from: "10:00", to: "22:00" }\n') } });
    expect(bad.body.ok).toBe(false);
    expect(bad.body.diagnostics).toEqual([expect.objectContaining({ file: 'sched-now.yaml', line: 10, code: 'RULE_REFERENCE', message: 'unknown time zone `Mars/Olympus`' })]);
  });
});
