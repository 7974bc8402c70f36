import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isPlayPulseError } from '../../lib/errors.ts';
import { createRedis, type RedisClient } from '../../lib/redis.ts';
import { BundleStore, BundleVersions } from '../../designer/store.ts';
import { bundleKeys } from '../../lib/keys.ts';
import { SAMPLE_DIR, sampleFiles, sampleWith } from '../../designer/testing/sample.ts';
import type { Bundle } from '../../designer/types.ts';
import { cleanupRedisPrefix, testServices, uniqueName } from '../helpers/stack.ts';

const clients: RedisClient[] = [];
const stores: BundleStore[] = [];
const prefixes: string[] = [];

function client(): RedisClient {
  const c = createRedis(testServices().redisUrl, 'test-designer');
  clients.push(c);
  return c;
}

async function open(prefix: string, opts: { fallbackDir?: string; pollMs?: number } = { fallbackDir: SAMPLE_DIR }): Promise<BundleStore> {
  const s = await BundleStore.open(client(), prefix, opts);
  stores.push(s);
  return s;
}

function freshPrefix(): string {
  const p = uniqueName('t');
  prefixes.push(p);
  return p;
}

/** The next bundle `store` switches to, and how long after `since` it came. */
function nextChange(store: BundleStore, since: () => number): Promise<{ bundle: Bundle; afterMs: number }> {
  return new Promise((resolve) => {
    const off = store.onChange((bundle) => {
      off();
      resolve({ bundle, afterMs: performance.now() - since() });
    });
  });
}

/** Resolves once `store` holds version `version` or a later one. */
function untilVersion(store: BundleStore, version: number): Promise<Bundle> {
  return new Promise((resolve) => {
    if (store.current().version >= version) return resolve(store.current());
    const off = store.onChange((bundle) => {
      if (bundle.version < version) return;
      off();
      resolve(bundle);
    });
  });
}

afterAll(async () => {
  for (const s of stores) await s.close();
  const c = clients[0];
  if (c) for (const p of prefixes) await cleanupRedisPrefix(c, p);
  for (const c2 of clients) c2.disconnect();
});

describe('BundleStore over Redis', () => {
  it('publishes the fallback folder as version 1 once, however many stores start at once', async () => {
    const prefix = freshPrefix();
    const opened = await Promise.all([open(prefix), open(prefix), open(prefix)]);
    expect(opened.map((s) => s.current().version)).toEqual([1, 1, 1]);
    expect(opened[0]?.current().rules.map((r) => r.id)).toContain('comeback-bundle');
    const history = await opened[0]?.history();
    expect(history?.map((v) => [v.version, v.meta.source, v.current])).toEqual([[1, 'fallback', true]]);
  });

  it('refuses to open with nothing published and no fallback', async () => {
    await expect(open(freshPrefix(), {})).rejects.toSatisfy((err) => isPlayPulseError(err, 'RULE_NO_VERSION'));
  });

  it('switches every store to a published version, and a bad bundle changes nothing', async () => {
    const prefix = freshPrefix();
    const a = await open(prefix);
    const b = await open(prefix);
    let t0 = 0;
    const seen = nextChange(b, () => t0);
    t0 = performance.now();
    const res = await a.publish(sampleWith('policy.yaml', (t) => t.replace('percent: 5', 'percent: 7')), { author: 'test', message: 'holdout 7' });
    expect(res).toEqual({ ok: true, version: 2 });
    expect(a.current().version).toBe(2);
    const { bundle, afterMs } = await seen;
    expect(bundle.version).toBe(2);
    expect(b.current().policy.holdoutPercent).toBe(7);
    console.info(`second store switched ${afterMs.toFixed(0)} ms after publish`);

    const bad = await a.publish(sampleWith('comeback-bundle.yaml', (t) => t.replace('player.loss_streak', 'player.los_streak')));
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.diagnostics[0]).toMatchObject({ code: 'RULE_REFERENCE', file: 'comeback-bundle.yaml', line: 9, column: 48 });
    const versions = new BundleVersions(client(), prefix);
    expect(await versions.currentVersion()).toBe(2);
    expect((await a.history()).map((v) => v.version)).toEqual([2, 1]);
    expect([a.current().version, b.current().version]).toEqual([2, 2]);
    expect((await a.get(2))?.meta).toEqual({ author: 'test', message: 'holdout 7' });
  });

  it('rolls back as a new version, walking further back each time', async () => {
    const prefix = freshPrefix();
    const a = await open(prefix);
    const b = await open(prefix);
    await a.publish(sampleWith('policy.yaml', (t) => t.replace('percent: 5', 'percent: 6')));
    await a.publish(sampleWith('policy.yaml', (t) => t.replace('percent: 5', 'percent: 7')));
    await untilVersion(b, 3);
    const first = await a.rollback({ author: 'test' });
    expect(first).toEqual({ ok: true, version: 4, restored: 2 });
    const bundle = await untilVersion(b, 4);
    expect([bundle.version, bundle.policy.holdoutPercent]).toEqual([4, 6]);
    expect(bundle.hash).toBe((await a.get(2))?.hash);

    const second = await a.rollback();
    expect(second).toEqual({ ok: true, version: 5, restored: 1 });
    expect(a.current().policy.holdoutPercent).toBe(5);
    await expect(a.rollback()).rejects.toSatisfy((err) => isPlayPulseError(err, 'RULE_NO_VERSION'));
    expect((await a.history()).map((v) => [v.version, v.restores, v.current])).toEqual([
      [5, 1, true],
      [4, 2, false],
      [3, 0, false],
      [2, 0, false],
      [1, 0, false],
    ]);
  });

  it('finds a new version by polling when no notification arrives', async () => {
    const prefix = freshPrefix();
    const store = await open(prefix, { fallbackDir: SAMPLE_DIR, pollMs: 100 });
    const keys = bundleKeys(prefix);
    const files = sampleWith('policy.yaml', (t) => t.replace('percent: 5', 'percent: 9'));
    const raw = client();
    const seen = nextChange(store, () => 0);
    await raw.hset(keys.version(7), { files: JSON.stringify(files), hash: 'x', meta: '{}', publishedAt: String(Date.now()), previous: '1', restores: '0' });
    await raw.set(keys.current, '7');
    const { bundle } = await seen;
    expect([bundle.version, bundle.policy.holdoutPercent]).toEqual([7, 9]);
  });

  it('keeps the version in use when the current one in Redis does not compile', async () => {
    const prefix = freshPrefix();
    const store = await open(prefix, { fallbackDir: SAMPLE_DIR, pollMs: 50 });
    const keys = bundleKeys(prefix);
    const raw = client();
    const broken = { ...sampleFiles(), 'policy.yaml': 'holdout: { percent: 500 }\n' };
    await raw.hset(keys.version(2), { files: JSON.stringify(broken), hash: 'x', meta: '{}', publishedAt: '0', previous: '1', restores: '0' });
    await raw.set(keys.current, '2');
    const good = sampleWith('policy.yaml', (t) => t.replace('percent: 5', 'percent: 8'));
    const seen = nextChange(store, () => 0);
    await raw.hset(keys.version(3), { files: JSON.stringify(good), hash: 'y', meta: '{}', publishedAt: '0', previous: '2', restores: '0' });
    await raw.set(keys.current, '3');
    const { bundle } = await seen;
    expect([bundle.version, bundle.policy.holdoutPercent]).toEqual([3, 8]);
  });
});

describe('npm run rules', () => {
  const run = (prefix: string, ...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'bin/rules.ts', ...args], {
      encoding: 'utf8',
      env: { ...process.env, REDIS_URL: testServices().redisUrl, PLAYPULSE_KEY_PREFIX: prefix, PLAYPULSE_LOG_LEVEL: 'warn' },
    });

  it('publishes, refuses a bad folder, diffs, rolls back and lists the history', async () => {
    const prefix = freshPrefix();
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    try {
      const count = Object.keys(sampleFiles()).length;
      expect(run(prefix, 'publish', SAMPLE_DIR, '-m', 'first')).toMatchObject({ status: 0, stdout: `published version 1 (${count} files)\n` });
      for (const [name, text] of Object.entries(sampleWith('policy.yaml', (t) => t.replace('percent: 5', 'percent: 6')))) writeFileSync(join(dir, name), text);
      const diff = run(prefix, 'diff', dir);
      expect(diff.status).toBe(0);
      expect(diff.stdout).toContain('policy changed');
      expect(diff.stdout).toContain('-holdout: { percent: 5 }');
      expect(run(prefix, 'publish', dir).stdout).toBe(`published version 2 (${count} files)\n`);

      writeFileSync(join(dir, 'comeback-bundle.yaml'), (sampleFiles()['comeback-bundle.yaml'] as string).replace('priority: 100', 'priority: high'));
      const refused = run(prefix, 'publish', dir);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(`${join(dir, 'comeback-bundle.yaml')}:6:11: error RULE_SCHEMA \`priority\` must be a number, not the string "high"`);

      expect(run(prefix, 'rollback')).toMatchObject({ status: 0, stdout: 'rolled back: version 3 restores version 1\n' });
      const history = run(prefix, 'history');
      expect(history.stdout.split('\n').filter(Boolean).map((l) => l.slice(0, 6))).toEqual(['*    3', '     2', '     1']);
      expect(await new BundleVersions(client(), prefix).currentVersion()).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
