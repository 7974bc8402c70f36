import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../helpers/stack.ts';
import { startPlayPulse, type RunningPlayPulse } from './backtest-stack.ts';
import { sleep } from '../../lib/time.ts';

/** The backtest routes of the admin API: refusals before anything is queued, and the job's life. */
let pp: RunningPlayPulse;

async function call(method: string, path: string, body?: unknown, token: string | null = pp.config.adminToken): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${pp.adminUrl}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  pp = await startPlayPulse(testConfig());
}, 120_000);

afterAll(async () => {
  await pp?.stop();
});

describe('POST /v1/rules/backtest', () => {
  it('needs the admin token', async () => {
    expect((await call('POST', '/v1/rules/backtest', { files: {}, from: '1h' }, null)).status).toBe(401);
  });

  it('refuses a draft that does not compile with 422 and its diagnostics', async () => {
    const files = { ...pp.bundles.current().files };
    files['comeback-bundle.yaml'] = (files['comeback-bundle.yaml'] ?? '').replace('player.loss_streak >= 3', 'player.loss_streak >= "3"');
    const res = await call('POST', '/v1/rules/backtest', { files, from: '1h' });
    expect(res.status).toBe(422);
    const error = res.body.error as { code: string; details: { diagnostics: { file: string; line: number; message: string }[] } };
    expect(error.code).toBe('RULE_TYPE_ERROR');
    expect(error.details.diagnostics[0]).toMatchObject({ file: 'comeback-bundle.yaml', line: 9 });
  });

  it('refuses a window it cannot read with 400', async () => {
    const files = pp.bundles.current().files;
    expect((await call('POST', '/v1/rules/backtest', { files })).status).toBe(400);
    expect((await call('POST', '/v1/rules/backtest', { files, from: 'yesterday' })).status).toBe(400);
    expect((await call('POST', '/v1/rules/backtest', { files, from: 'now', to: '1h' })).status).toBe(400);
  });

  it('queues a job whose progress and report GET /v1/rules/backtest/{id} serves', async () => {
    const started = await call('POST', '/v1/rules/backtest', { files: pp.bundles.current().files, from: '2h' });
    expect(started.status).toBe(200);
    const id = String(started.body.id);
    let job: Record<string, unknown> = {};
    for (let i = 0; i < 300; i++) {
      job = (await call('GET', `/v1/rules/backtest/${id}`)).body;
      if (job.state === 'completed' || job.state === 'failed') break;
      await sleep(100);
    }
    expect(job).toMatchObject({ id, state: 'completed', error: null, progress: { phase: 'done', percent: 100 } });
    const report = job.report as { draft: { rows: { ruleId: string }[] }; published: { version: number } };
    expect(report.published.version).toBe(1);
    expect(report.draft.rows.map((r) => r.ruleId)).toContain('comeback-bundle');
  });

  it('answers 404 for an unknown job, and the OpenAPI document lists both routes', async () => {
    expect((await call('GET', '/v1/rules/backtest/999999')).status).toBe(404);
    const doc = (await call('GET', '/v1/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/v1/rules/backtest'] ?? {})).toEqual(['post']);
    expect(Object.keys(doc.paths['/v1/rules/backtest/{id}'] ?? {})).toEqual(['get']);
  });
});
