/**
 * Property-based fuzzing of the admin API's request bodies, against a running offers role
 * (real Redis and Kafka): whatever a route that reads a body is sent (arbitrary bytes,
 * arbitrary JSON, JSON of the right shape with wrong values, `__proto__`/`constructor`
 * keys), the answer is never a 5xx; a refusal is a 4xx with a registered error code and a
 * message, never a stack trace; and nothing reaches Object.prototype of the server process.
 */
import { resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.ts';
import { ERRORS } from '../../lib/errors.ts';
import { Health } from '../../lib/health.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { BundleStore } from '../../designer/store.ts';
import { startOffers } from '../../offers/index.ts';
import { cleanupRedisPrefix, testConfig } from '../helpers/stack.ts';
import { fuzzRuns, prototypeSnapshot } from '../fuzz/pipeline.ts';

const RULES_DIR = resolve(import.meta.dirname, '../../offers/rules');
const TOKEN = 'admin-token-for-fuzzing-0123456789';
const STACK_TRACE = /\n\s+at |\.ts:\d+:\d+|node:internal|TypeError|ReferenceError|RangeError|SyntaxError: Unexpected/;

/** Every route that reads a JSON body. */
const BODY_ROUTES = [
  ['POST', '/v1/rules/validate'],
  ['PUT', '/v1/rules'],
  ['POST', '/v1/rules/diff'],
  ['POST', '/v1/rules/backtest'],
] as const;

let config: Config;
let redis: RedisClient;
let store: BundleStore;
let offers: { adminPort: number; stop(): Promise<void> };
let protoBefore = '';
const statuses = new Map<number, number>();

beforeAll(async () => {
  protoBefore = prototypeSnapshot();
  config = testConfig({ PLAYPULSE_ADMIN_TOKEN: TOKEN });
  redis = createRedis(config.redisUrl ?? '', 'test-admin-fuzz');
  store = await BundleStore.open(redis, config.keyPrefix, { fallbackDir: RULES_DIR });
  offers = await startOffers({ config, health: new Health(), bundles: store });
});

afterAll(async () => {
  await offers?.stop();
  await store?.close();
  await cleanupRedisPrefix(redis, config.keyPrefix);
  redis.disconnect();
  expect(prototypeSnapshot()).toBe(protoBefore);
  console.log(`admin fuzz answers by status: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
});

/** Sends `body` as is to a route; checks the answer is not a 5xx and that a refusal is a registered error. */
async function send(route: (typeof BODY_ROUTES)[number], body: Uint8Array | string): Promise<number> {
  const [method, path] = route;
  const res = await fetch(`http://127.0.0.1:${offers.adminPort}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : Buffer.from(body) });
  const text = await res.text();
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  expect(res.status, `${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`).toBeLessThan(500);
  expect(text).not.toMatch(STACK_TRACE);
  if (res.status >= 400) {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    expect(Object.hasOwn(ERRORS, String(parsed.error?.code))).toBe(true);
    expect(typeof parsed.error?.message === 'string' && parsed.error.message.length > 0).toBe(true);
  }
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  return res.status;
}

async function check<T>(arb: fc.Arbitrary<T>, body: (v: T) => Uint8Array | string, numRuns: number, refused = false): Promise<void> {
  const route = fc.constantFrom(...BODY_ROUTES);
  await fc.assert(
    fc.asyncProperty(route, arb, async (r, v) => {
      const status = await send(r, body(v));
      if (refused) expect(status).toBeGreaterThanOrEqual(400);
    }),
    { numRuns: fuzzRuns(numRuns) },
  );
}

/** `obj` with an own enumerable property `key` (even `__proto__`), so JSON.stringify writes it. */
function withOwnKey(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  return obj;
}

const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf');
const fileName = fc.oneof(fc.constantFrom('events.yaml', 'properties.yaml', 'policy.yaml', 'rule.yaml', '../x.yaml', 'a/b.yaml', '', '__proto__', 'constructor.yaml'), fc.string({ maxLength: 12 }));
const yamlText = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('id: x\n', 'events:\n  a.b: {}\n', '{', 'a: &a [*a]', 'properties: 5\n', '__proto__: { polluted: true }\n'));
const anyJson = fc.jsonValue({ maxDepth: 4 });
const time = fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.double(), fc.constantFrom('now', '24h', '-1d', '2026-13-45', '0', 'ms:1', null, true, [], {}));

describe('admin API body fuzzing', () => {
  it('diffs a file named like an Object method as added (found by fuzzing: it was a 500)', async () => {
    const res = await fetch(`http://127.0.0.1:${offers.adminPort}/v1/rules/diff`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ files: { toString: 'id: x\n' } }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { files: { name: string; status: string }[] };
    expect(body.files.find((f) => f.name === 'toString')?.status).toBe('added');
  });

  it('arbitrary bytes as a body are a 4xx, never a 5xx', async () => {
    await check(fc.uint8Array({ maxLength: 300 }), (b) => b, 150, true);
  });

  it('arbitrary JSON as a body is answered without a 5xx', async () => {
    await check(anyJson, (v) => JSON.stringify(v), 150);
  });

  it('deeply nested JSON is answered without a 5xx', async () => {
    await check(fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.boolean()), ([depth, arrays]) => (arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `{"files":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`), 40);
  });

  it('bodies of the right shape with wrong values are answered without a 5xx', async () => {
    const files = fc.oneof(anyJson, fc.dictionary(fileName, fc.oneof(yamlText, anyJson), { maxKeys: 4 }));
    const body = fc.record({ files, from: time, to: time, message: fc.oneof(fc.string({ maxLength: 20 }), anyJson) }, { requiredKeys: [] });
    await check(body, (v) => JSON.stringify(v), 200);
  });

  it('__proto__, constructor and prototype keys anywhere in a body pollute nothing and are answered without a 5xx', async () => {
    const where = fc.constantFrom('top', 'files', 'file-value', 'from');
    const payload = fc.oneof(fc.constant({ polluted: true }), fc.constant({ files: { 'x.yaml': 'id: x' } }), fc.constant('id: x\n'), fc.integer(), fc.constant(null));
    await check(
      fc.tuple(hostileKey, where, payload),
      ([key, at, v]) => {
        const body: Record<string, unknown> = { files: { 'events.yaml': 'events: {}\n' }, from: '1h' };
        if (at === 'top') withOwnKey(body, key, v);
        else if (at === 'files') withOwnKey(body.files as Record<string, unknown>, key, v);
        else if (at === 'file-value') (body.files as Record<string, unknown>)['rule.yaml'] = withOwnKey({}, key, v);
        else body.from = withOwnKey({}, key, v);
        return JSON.stringify(body);
      },
      150,
    );
  });
});
