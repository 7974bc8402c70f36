import { PlayPulseError } from '../../lib/errors.ts';
import { checkPlayerId, DEFAULT_STREAM_LOOKBACK_MS, playerDecisions, playerSnapshot } from './players.ts';
import { diffAgainstPublished, diffVersions, publishedView, publishFiles, rollbackRules, validateFiles } from './rules.ts';
import { ruleStats } from './stats.ts';
import { segmentsView } from './segments.ts';
import { ruleTimeline } from './timeline.ts';
import { pipelineHealth } from './pipeline.ts';
import { TIMELINE_MAX_HOURS } from '../engine/timeline.ts';
import { filesOf } from './http.ts';
import type { Route, RouteContext } from './route-types.ts';
import { readAudit, recordVersionChange, type VersionChange } from '../../designer/audit.ts';
import { createLogger } from '../../lib/log.ts';
import { BACKTEST_ROUTES } from '../backtest/routes.ts';

export type { AdminDeps, QueryParam, Route, RouteContext } from './route-types.ts';

const log = createLogger('admin');

const intParam = (q: URLSearchParams, name: string, dflt: number, min: number, max: number): number => {
  const raw = q.get(name);
  if (raw === null) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new PlayPulseError('ADMIN_BAD_REQUEST', `query parameter ${name} must be an integer from ${min} to ${max}`, { [name]: raw });
  return n;
};

const optionalMessage = (body: Record<string, unknown>): string | undefined => (typeof body.message === 'string' ? body.message.slice(0, 500) : undefined);

/** The admin API: the only place routes are listed. */
export const ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/v1/rules',
    operationId: 'getRules',
    role: 'viewer',
    summary: 'The published bundle: version, hash, files and a summary of its rules',
    response: 'Published',
    errors: [],
    handle: async ({ deps }) => publishedView(deps.bundles.current()),
  },
  {
    method: 'GET',
    path: '/v1/rules/history',
    operationId: 'getRuleHistory',
    role: 'viewer',
    summary: 'Published versions, newest first',
    response: 'History',
    query: [{ name: 'limit', description: 'at most this many (1-200, default 50)', schema: { type: 'integer', minimum: 1, maximum: 200 } }],
    errors: [400],
    handle: async ({ deps, query }) => ({ versions: await deps.bundles.history(intParam(query, 'limit', 50, 1, 200)) }),
  },
  {
    method: 'POST',
    path: '/v1/rules/validate',
    operationId: 'validateRules',
    role: 'editor',
    summary: 'Validate a bundle of designer files; errors and warnings with file, line, column and hint',
    requestBody: 'Files',
    response: 'Validation',
    errors: [400, 413],
    handle: async ({ body }) => validateFiles(filesOf(await body())),
  },
  {
    method: 'PUT',
    path: '/v1/rules',
    operationId: 'publishRules',
    role: 'publisher',
    summary: 'Publish a bundle as a new version (validated first; a bad bundle changes nothing and is refused with 422 and its diagnostics)',
    requestBody: 'Files',
    response: 'PublishResult',
    errors: [400, 413, 422],
    handle: async (ctx) => {
      const b = await ctx.body();
      const message = optionalMessage(b);
      const res = await publishFiles(ctx.deps.bundles, filesOf(b), message, ctx.actor.name);
      await audit(ctx, { action: 'publish', version: res.version, from: null, message: message ?? null });
      return res;
    },
  },
  {
    method: 'POST',
    path: '/v1/rules/rollback',
    operationId: 'rollbackRules',
    role: 'publisher',
    summary: 'Back to the version before the current one (recorded as a new version)',
    response: 'RollbackResult',
    errors: [409, 422],
    handle: async (ctx) => {
      const from = ctx.deps.bundles.current().version;
      const res = await rollbackRules(ctx.deps.bundles, ctx.actor.name);
      await audit(ctx, { action: 'rollback', version: res.version, from, message: null });
      return res;
    },
  },
  {
    method: 'GET',
    path: '/v1/rules/diff',
    operationId: 'diffVersions',
    role: 'viewer',
    summary: 'What changed between two published versions (default: the previous one and the current one)',
    response: 'Diff',
    query: [
      { name: 'from', description: 'older version (default: current - 1)', schema: { type: 'integer', minimum: 1 } },
      { name: 'to', description: 'newer version (default: current)', schema: { type: 'integer', minimum: 1 } },
    ],
    errors: [400, 404],
    handle: async ({ deps, query }) => {
      const current = deps.bundles.current().version;
      const to = intParam(query, 'to', current, 1, Number.MAX_SAFE_INTEGER);
      const from = intParam(query, 'from', Math.max(1, to - 1), 1, Number.MAX_SAFE_INTEGER);
      return diffVersions(deps.bundles, from, to);
    },
  },
  {
    method: 'POST',
    path: '/v1/rules/diff',
    operationId: 'diffFiles',
    role: 'editor',
    summary: 'What publishing these files would change against the published version',
    requestBody: 'Files',
    response: 'Diff',
    errors: [400, 413],
    handle: async ({ deps, body }) => diffAgainstPublished(deps.bundles, filesOf(await body())),
  },
  {
    method: 'GET',
    path: '/v1/players/{id}',
    operationId: 'getPlayer',
    role: 'viewer',
    summary: "The player's built-in fields and properties as the rules see them now, and their pending offers",
    response: 'Player',
    errors: [400],
    handle: async ({ deps, params }) =>
      playerSnapshot(deps.redis, deps.config.keyPrefix, deps.bundles.current(), deps.readState, checkPlayerId(params.id ?? ''), Date.now()),
  },
  {
    method: 'GET',
    path: '/v1/players/{id}/decisions',
    operationId: 'getPlayerDecisions',
    role: 'viewer',
    summary: 'The latest decisions for the player, newest first: each rule considered per triggering event, its outcome, why, and the values its condition read',
    response: 'Decisions',
    query: [
      { name: 'limit', description: 'at most this many decisions (1-200, default 50); past the few kept in Redis, older ones are read from the decision stream', schema: { type: 'integer', minimum: 1, maximum: 200 } },
      { name: 'since', description: 'oldest decision time read from the stream, epoch ms (default: 7 days ago)', schema: { type: 'integer', minimum: 0 } },
    ],
    errors: [400],
    handle: async ({ deps, params, query }) => {
      const player = checkPlayerId(params.id ?? '');
      const limit = intParam(query, 'limit', 50, 1, 200);
      const sinceMs = intParam(query, 'since', Date.now() - DEFAULT_STREAM_LOOKBACK_MS, 0, Number.MAX_SAFE_INTEGER);
      return playerDecisions(deps.redis, deps.config.keyPrefix, player, limit, deps.decisionStream ? { read: deps.decisionStream, sinceMs } : undefined);
    },
  },
  {
    method: 'GET',
    path: '/v1/stats/rules',
    operationId: 'getRuleStats',
    role: 'viewer',
    summary: 'Per rule and variant: triggered, offered, shadow_offered, delivered, shown, accepted, declined, purchased, expired, granted, revenue',
    response: 'Stats',
    errors: [],
    handle: async ({ deps }) => ({ rules: await ruleStats(deps.redis, deps.config.keyPrefix, deps.bundles.current()) }),
  },
  {
    method: 'GET',
    path: '/v1/stats/rules/{id}/timeline',
    operationId: 'getRuleTimeline',
    role: 'viewer',
    summary: 'Per hour and variant of one rule: offered, delivered, shown, purchased (hour starts in ms, oldest first)',
    response: 'Timeline',
    query: [{ name: 'hours', description: `this many hours ending with the current one (1-${TIMELINE_MAX_HOURS}, default 48)`, schema: { type: 'integer', minimum: 1, maximum: TIMELINE_MAX_HOURS } }],
    errors: [400],
    handle: async ({ deps, params, query }) =>
      ruleTimeline(deps.redis, deps.config.keyPrefix, params.id ?? '', intParam(query, 'hours', 48, 1, TIMELINE_MAX_HOURS), Date.now()),
  },
  {
    method: 'GET',
    path: '/v1/pipeline/health',
    operationId: 'getPipelineHealth',
    role: 'viewer',
    summary: 'Live pipeline health from the processors instances’ pulse: events/s, decisions/s, offers/s over each one’s latest interval, and consumer lag',
    response: 'PipelineHealth',
    errors: [],
    handle: async ({ deps }) => pipelineHealth(deps.redis, deps.config.keyPrefix),
  },
  {
    method: 'GET',
    path: '/v1/audit',
    operationId: 'getAudit',
    role: 'viewer',
    summary: 'The audit log, newest first: every publish, rollback and mode change, with who, when, the versions from and to, and what changed',
    response: 'Audit',
    query: [{ name: 'limit', description: 'at most this many entries (1-500, default 50)', schema: { type: 'integer', minimum: 1, maximum: 500 } }],
    errors: [400],
    handle: async ({ deps, query }) => ({ entries: await readAudit(deps.redis, deps.config.keyPrefix, intParam(query, 'limit', 50, 1, 500)) }),
  },
  {
    method: 'GET',
    path: '/v1/segments',
    operationId: 'getSegments',
    role: 'viewer',
    summary: "The published bundle's segments: name, condition, daily cap, and the approximate number of players found in each today (UTC)",
    response: 'Segments',
    errors: [],
    handle: async ({ deps }) => segmentsView(deps.redis, deps.config.keyPrefix, deps.bundles.current(), Date.now()),
  },
  ...BACKTEST_ROUTES,
];

/**
 * Appends the audit entries of a change already made. A failed write is logged, not
 * answered: the change stands, and an error would invite a second publish.
 */
async function audit(ctx: RouteContext, change: VersionChange): Promise<void> {
  const { deps, actor } = ctx;
  try {
    await recordVersionChange(deps.redis, deps.config.keyPrefix, deps.bundles, { who: actor.name, role: actor.role, via: 'api' }, change);
  } catch (err) {
    log.error({ err, action: change.action, version: change.version, who: actor.name }, 'the audit entry of a change could not be written');
  }
}

/** A compiled route table: method + path template → route and its parameters. */
export function matchRoute(routes: readonly Route[], method: string, path: string): { route: Route; params: Record<string, string> } | 'method' | null {
  let pathMatched = false;
  for (const route of routes) {
    const params = matchPath(route.path, path);
    if (!params) continue;
    pathMatched = true;
    if (route.method === method) return { route, params };
  }
  return pathMatched ? 'method' : null;
}

function matchPath(template: string, path: string): Record<string, string> | null {
  const t = template.split('/');
  const p = path.split('/');
  if (t.length !== p.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < t.length; i += 1) {
    const seg = t[i] ?? '';
    const got = p[i] ?? '';
    const m = /^\{(\w+)\}$/.exec(seg);
    if (m?.[1]) {
      if (got.length === 0) return null;
      try {
        params[m[1]] = decodeURIComponent(got);
      } catch {
        return null;
      }
    } else if (seg !== got) {
      return null;
    }
  }
  return params;
}
