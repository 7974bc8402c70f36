import { PlayPulseError } from '../../lib/errors.ts';
import { filesOf } from '../admin/http.ts';
import type { Route } from '../admin/route-types.ts';
import { resolveRequest } from './request.ts';

/**
 * The backtest routes of the admin API: submit a job, read its progress and report. The
 * process must run a backtest service (`AdminDeps.backtests`); the offers role does.
 */
export const BACKTEST_ROUTES: readonly Route[] = [
  {
    method: 'POST',
    path: '/v1/rules/backtest',
    operationId: 'startBacktest',
    role: 'editor',
    summary:
      'Backtest a draft bundle over a window of retained events, side by side with the published version (a job; the draft is validated first and refused with 422)',
    requestBody: 'BacktestRequest',
    response: 'BacktestStarted',
    errors: [400, 404, 413, 422],
    handle: async ({ deps, body }) => {
      const backtests = deps.backtests;
      if (!backtests) throw new PlayPulseError('ADMIN_NOT_FOUND', 'this process runs no backtests (the offers role does)');
      const b = await body();
      const request = resolveRequest(b, filesOf(b), Date.now());
      const id = await backtests.queue.submit(request);
      return { id, from: request.from, to: request.to };
    },
  },
  {
    method: 'GET',
    path: '/v1/rules/backtest/{id}',
    operationId: 'getBacktest',
    role: 'viewer',
    summary: "A backtest job: its state, progress and, once completed, its report (kept a day)",
    response: 'BacktestJob',
    errors: [404],
    handle: async ({ deps, params }) => {
      const backtests = deps.backtests;
      if (!backtests) throw new PlayPulseError('ADMIN_NOT_FOUND', 'this process runs no backtests (the offers role does)');
      const view = await backtests.queue.view(params.id ?? '');
      if (!view) throw new PlayPulseError('ADMIN_NOT_FOUND', `no backtest ${params.id ?? ''} (unknown, or finished more than a day ago)`, { id: params.id });
      return view;
    },
  },
];

const obj = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)) => ({ type: 'object', properties, required });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const int = { type: 'integer' };
const str = { type: 'string' };
const ms = { type: 'integer', description: 'ms since the Unix epoch' };
const time = { anyOf: [str, int], description: 'ISO 8601, epoch ms, "now", or a duration ago ("24h", "90m", "7d")' };
const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] });

/** OpenAPI schemas of the backtest routes (components of the admin document). */
export const BACKTEST_SCHEMAS: Record<string, unknown> = {
  BacktestRequest: obj(
    { files: { type: 'object', additionalProperties: str, description: 'the draft: file name -> YAML text' }, from: time, to: time },
    ['files', 'from'],
  ),
  BacktestStarted: obj({ id: str, from: ms, to: ms }),
  BacktestRow: obj({
    ruleId: str,
    variant: str,
    mode: { enum: ['live', 'shadow'] },
    triggers: int,
    offers: int,
    shadowOffers: int,
    uniquePlayers: int,
    blocked: { type: 'object', additionalProperties: int, description: 'outcome (cooldown, cap_reached, budget_exhausted, fatigue_*, holdout, control_arm, lost_to_priority) -> count' },
    price: obj({ amount: int, currency: str }),
    purchaseRate: nullable({ type: 'number' }),
    projectedRevenue: nullable({ ...int, description: 'minor units; null: unknown (no live purchase history)' }),
  }),
  BacktestSide: obj({ version: int, hash: str, rows: { type: 'array', items: ref('BacktestRow') } }),
  BacktestReport: obj({
    window: obj({ from: ms, to: ms, events: int }),
    draft: ref('BacktestSide'),
    published: nullable(ref('BacktestSide')),
    elapsedMs: int,
  }),
  BacktestJob: obj({
    id: str,
    state: { enum: ['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children', 'unknown'] },
    progress: nullable(obj({ phase: { enum: ['reading', 'replaying', 'draft', 'published', 'done'] }, done: int, total: int, percent: int })),
    report: nullable(ref('BacktestReport')),
    error: nullable(str),
    request: obj({ from: ms, to: ms }),
  }),
};
