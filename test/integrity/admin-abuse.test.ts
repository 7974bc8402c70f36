/**
 * Abuse of the admin API and hostile designer input, against a running offers role while
 * events keep flowing through an edge and processors: every route is 401 without the
 * right token; malicious bundles (CEL that explodes, huge files, YAML alias bombs, too
 * many files) are refused with a message and change nothing; every validation error path
 * answers with diagnostics, never a stack trace; the running system keeps acking and
 * applying events meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { signPlayerToken } from '../../edge/auth.ts';
import { ROUTES } from '../../offers/admin/routes.ts';
import { assertAppliedOnce, assertNoLostAcks } from './checks.ts';
import { ADMIN_TOKEN, AUTH_SECRET, createWorld, type World } from './env.ts';
import { integrityKafka, waitConsumed } from './kafka-tools.ts';
import { readPlayerStates, readTopicRecords, scanPlayersWithState } from './readers.ts';
import { RULES_DIR, expectedStates, randomEvent, rng } from './stream.ts';
import { startRoles, type RoleProcess } from '../faults/processes.ts';
import { SimulatedPlayer } from '../faults/player.ts';

const STACK_TRACE = /\n\s+at |\.ts:\d+:\d+|node:internal|TypeError|ReferenceError|RangeError/;

function fixtureFiles(): Record<string, string> {
  return Object.fromEntries(readdirSync(RULES_DIR).map((f) => [f, readFileSync(`${RULES_DIR}/${f}`, 'utf8')]));
}

function rule(id: string, when: string, extra = ''): string {
  return `id: ${id}\nenabled: true\nmode: live\npriority: 5\ntrigger:\n  event: match.end\n  when: '${when}'\noffer:\n  sku: x.${id}\n  price: { amount: 10, currency: USD }\n  ttl: 1h\n${extra}`;
}

describe('admin API and designer input abuse', () => {
  let world: World;
  let offers: RoleProcess;
  let admin = '';
  let background: SimulatedPlayer;
  let backgroundRun: Promise<void>;
  const durations: Record<string, number> = {};

  beforeAll(async () => {
    world = createWorld();
    await world.createTopics();
    const [edge, proc, off] = await Promise.all([startRoles('edge', world.env), startRoles('processors', world.env), startRoles('offers', world.env)]);
    world.processes.push(edge, proc, off);
    offers = off;
    admin = `http://127.0.0.1:${off.env.ADMIN_PORT}`;
    const next = rng(91);
    const events = Array.from({ length: 600 }, (_, k) => randomEvent(next, `bg-e${k}`));
    background = new SimulatedPlayer('background', await signPlayerToken(AUTH_SECRET, 'background', 3600), [`ws://127.0.0.1:${edge.healthPort}/v1/play`], events, { window: 10, batch: 2, pauseMs: 30 });
    backgroundRun = background.run(180_000);
  }, 120_000);

  afterAll(async () => {
    background.stop();
    await world.cleanup();
  });

  const call = async (method: string, path: string, opts: { auth?: string | null; body?: unknown } = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const auth = opts.auth === undefined ? `Bearer ${ADMIN_TOKEN}` : opts.auth;
    if (auth !== null) headers.authorization = auth;
    const t0 = Date.now();
    const res = await fetch(`${admin}${path}`, { method, headers, ...(opts.body !== undefined ? { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) } : {}) });
    const text = await res.text();
    return { status: res.status, text, ms: Date.now() - t0 };
  };

  it('answers 401 on every route for every missing or wrong credential, with no stack trace', async () => {
    const creds: Array<string | null> = [null, '', 'Bearer', 'Bearer ', `Bearer ${ADMIN_TOKEN}x`, `Bearer ${ADMIN_TOKEN.slice(0, -1)}`, `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`, `bearer${ADMIN_TOKEN}`, ADMIN_TOKEN];
    let checked = 0;
    for (const route of ROUTES) {
      const path = route.path.replace('{id}', 'someone');
      for (const auth of creds) {
        const r = await call(route.method, path, { auth, body: route.method === 'GET' ? undefined : { files: {} } });
        expect({ route: `${route.method} ${route.path}`, auth, status: r.status }).toEqual({ route: `${route.method} ${route.path}`, auth, status: 401 });
        expect(r.text).not.toMatch(STACK_TRACE);
        checked += 1;
      }
    }
    durations.unauthorized = checked;
  });

  it('refuses malicious bundles with a message, quickly, changing nothing', async () => {
    const before = JSON.parse((await call('GET', '/v1/rules')).text) as { version: number; hash: string };
    const base = fixtureFiles();
    const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    const comprehension = (depth: number) => {
      let e = 'true';
      for (let i = 0; i < depth; i++) e = `[1,2,3,4,5,6,7,8,9,10].all(x${i}, ${e})`;
      return e;
    };
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    const bundles: Record<string, Record<string, string>> = {
      'CEL nested 10 comprehensions (10^10 steps)': { ...base, 'evil.yaml': rule('evil', comprehension(10)) },
      'CEL 5000-deep nesting': { ...base, 'evil.yaml': rule('evil', `size(${nested(5_000)}) > 0`) },
      'CEL 200 KiB expression': { ...base, 'evil.yaml': rule('evil', Array.from({ length: 20_000 }, () => 'true').join(' && ')) },
      'YAML alias bomb (billion laughs)': { ...base, 'evil.yaml': bomb },
      'file over the size limit': { ...base, 'evil.yaml': `# ${'x'.repeat(300 * 1024)}\n${rule('evil', 'true')}` },
      'too many files': { ...base, ...Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`r${i}.yaml`, rule(`r${i}`, 'true')])) },
      'deeply nested YAML': { ...base, 'evil.yaml': `${'a:\n'.split('').join('')}${Array.from({ length: 2_000 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')} 1` },
      'file name escaping the folder': { ...base, '../../etc/passwd.yaml': rule('evil', 'true') },
    };
    for (const [name, files] of Object.entries(bundles)) {
      const r = await call('PUT', '/v1/rules', { body: { files } });
      durations[name] = r.ms;
      expect({ name, status: r.status >= 400 && r.status < 500 }).toEqual({ name, status: true });
      expect(r.text).not.toMatch(STACK_TRACE);
      const body = JSON.parse(r.text) as { error?: { code: string; message: string } };
      expect(typeof body.error?.message).toBe('string');
    }
    const huge = await call('PUT', '/v1/rules', { body: JSON.stringify({ files: { 'a.yaml': 'x'.repeat(3 * 1024 * 1024) } }) });
    durations['body over 2 MiB'] = huge.ms;
    expect(huge.status).toBe(413);
    const after = JSON.parse((await call('GET', '/v1/rules')).text) as { version: number; hash: string };
    expect(after).toMatchObject({ version: before.version, hash: before.hash });
    expect(offers.alive()).toBe(true);
  }, 120_000);

  it('answers every designer validation error with file, line and message, never a stack trace', async () => {
    const base = fixtureFiles();
    const cases: Record<string, Record<string, string>> = {
      RULE_YAML: { ...base, 'bad.yaml': 'id: [unclosed\n' },
      'RULE_SCHEMA unknown key': { ...base, 'bad.yaml': `${rule('bad', 'true')}colour: red\n` },
      'RULE_SCHEMA wrong type': { ...base, 'bad.yaml': rule('bad', 'true').replace('priority: 5', 'priority: high') },
      'RULE_SCHEMA bad duration': { ...base, 'bad.yaml': rule('bad', 'true').replace('ttl: 1h', 'ttl: forever') },
      'RULE_TYPE_ERROR misspelled property': { ...base, 'bad.yaml': rule('bad', 'player.los_streak >= 3') },
      'RULE_TYPE_ERROR wrong comparison': { ...base, 'bad.yaml': rule('bad', 'event.data.result >= 3') },
      'RULE_TYPE_ERROR not boolean': { ...base, 'bad.yaml': rule('bad', 'player.matches_played + 1') },
      'RULE_TYPE_ERROR syntax': { ...base, 'bad.yaml': rule('bad', 'player.matches_played >= ') },
      'RULE_REFERENCE undeclared trigger': { ...base, 'bad.yaml': rule('bad', 'true').replace('event: match.end', 'event: match.ended') },
      'RULE_REFERENCE property of undeclared event': { ...base, 'properties.yaml': `${base['properties.yaml']}  ghosts: { count: { event: ghost.seen } }\n` },
      'RULE_REFERENCE property field not declared': { ...base, 'properties.yaml': `${base['properties.yaml']}  gold: { sum: { event: shop.purchase, field: data.gold } }\n` },
      'RULE_CONFLICT duplicate rule id': { ...base, 'bad.yaml': rule('loss-offer', 'true') },
      'unknown currency': { ...base, 'bad.yaml': rule('bad', 'true').replace('currency: USD', 'currency: ZZZ') },
      'events.yaml bad type': { ...base, 'events.yaml': 'events:\n  match.end:\n    data:\n      result: { type: float128 }\n' },
      'policy out of range': { ...base, 'policy.yaml': 'holdout: { percent: 250 }\n' },
      'empty rule file': { ...base, 'bad.yaml': '' },
      'rule file is a list': { ...base, 'bad.yaml': '- a\n- b\n' },
    };
    const seen: Record<string, string> = {};
    for (const [name, files] of Object.entries(cases)) {
      const r = await call('POST', '/v1/rules/validate', { body: { files } });
      expect(r.status).toBeLessThan(500);
      expect(r.text).not.toMatch(STACK_TRACE);
      const body = JSON.parse(r.text) as { ok: boolean; diagnostics: Array<{ severity: string; code: string; file: string; line: number; message: string }> };
      const errors = body.diagnostics.filter((d) => d.severity === 'error');
      expect({ name, ok: body.ok, errors: errors.length > 0 }).toEqual({ name, ok: false, errors: true });
      for (const d of errors) {
        expect(typeof d.file).toBe('string');
        expect(d.line).toBeGreaterThanOrEqual(1);
        expect(d.message.length).toBeGreaterThan(0);
      }
      seen[name] = errors[0]?.code ?? '?';
      const put = await call('PUT', '/v1/rules', { body: { files } });
      expect(put.status).toBe(422);
      expect(put.text).not.toMatch(STACK_TRACE);
    }
    durations.validationCases = Object.keys(seen).length;
  }, 120_000);

  it('kept acking and applying the background player throughout', async () => {
    await backgroundRun;
    const records = await readTopicRecords(world.brokers, world.topic);
    assertNoLostAcks([...background.acked].map((id) => ({ player: 'background', id })), records);
    const kafkaAdmin = integrityKafka(world.brokers).admin();
    await kafkaAdmin.connect();
    await waitConsumed(kafkaAdmin, world.groupId, world.topic);
    await kafkaAdmin.disconnect();
    const actual = await readPlayerStates(world.redis, world.keyPrefix, await scanPlayersWithState(world.redis, world.keyPrefix));
    assertAppliedOnce(expectedStates(background.events.map((event) => ({ player: 'background', event }))), actual);
    console.log(`admin abuse: ${JSON.stringify(durations)} (ms per refused malicious publish); background player ${background.acked.size}/${background.events.length} acked, applied exactly`);
  }, 200_000);
});
