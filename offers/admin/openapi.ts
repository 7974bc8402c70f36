import { OUTCOMES } from '../engine/explain.ts';
import type { Route } from './routes.ts';
import { STAT_COUNTERS } from './stats.ts';
import { TIMELINE_STAGES } from '../engine/timeline.ts';
import { BACKTEST_SCHEMAS } from '../backtest/routes.ts';

/** The path of the OpenAPI document itself (served like any other route, behind the token). */
export const OPENAPI_PATH = '/v1/openapi.json';

const obj = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)) => ({ type: 'object', properties, required });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const int = { type: 'integer' };
const str = { type: 'string' };
const ms = { type: 'integer', description: 'ms since the Unix epoch' };
const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] });

const SCHEMAS: Record<string, unknown> = {
  Error: obj({ error: obj({ code: str, message: str, details: { type: 'object' } }) }),
  Diagnostic: obj(
    { severity: { enum: ['error', 'warning'] }, code: str, file: str, line: int, column: int, message: str, hint: str },
    ['severity', 'code', 'file', 'line', 'column', 'message'],
  ),
  Files: obj(
    {
      files: { type: 'object', additionalProperties: str, description: 'file name -> YAML text (events.yaml, properties.yaml, segments.yaml, policy.yaml, one file per rule)' },
      message: { type: 'string', description: 'optional note recorded with a published version' },
    },
    ['files'],
  ),
  Validation: obj({ ok: { type: 'boolean' }, diagnostics: { type: 'array', items: ref('Diagnostic') } }),
  Published: obj({
    version: int,
    hash: str,
    files: { type: 'object', additionalProperties: str },
    rules: {
      type: 'array',
      items: obj({
        id: str,
        file: str,
        enabled: { type: 'boolean' },
        mode: { enum: ['live', 'shadow'] },
        priority: int,
        trigger: { type: 'object' },
        schedule: nullable({
          ...obj({
            start: nullable(str),
            end: nullable(str),
            timeZone: str,
            playerTimeZone: { ...nullable(str), description: 'the player property whose zone the weekly windows are in (timeZone without it)' },
            weekly: nullable({ type: 'array', items: obj({ days: { type: 'array', items: str }, from: str, to: str }) }),
            activeNow: { type: 'boolean' },
            nextStart: nullable(str),
          }),
          description: "the rule's `schedule` (instants as ISO 8601 UTC, windows in `timeZone`); `activeNow` and `nextStart` by the server's clock at the request; null: always applies",
        }),
        shaped: {
          type: 'array',
          description: "the offer's fields computed per player (docs/designers.md, \"Offers shaped per player\"): the expression (for `title`, the template), its bounds (numbers only; `round` null when not set) and the value on a runtime error",
          items: obj({ field: { enum: ['price.amount', 'discountPct', 'quantity', 'title'] }, expr: str, min: { type: 'number' }, max: { type: 'number' }, round: nullable({ type: 'number' }), default: {} }, ['field', 'expr', 'default']),
        },
      }),
    },
  }),
  History: obj({ versions: { type: 'array', items: { type: 'object' } } }),
  PublishResult: obj({ version: int, hash: str, warnings: { type: 'array', items: ref('Diagnostic') } }),
  RollbackResult: obj({ version: int, restored: { ...int, description: 'the version whose files are live again' } }),
  Diff: obj(
    { from: int, to: int, changed: { type: 'boolean' }, files: { type: 'array', items: obj({ name: str, status: { enum: ['added', 'removed', 'changed'] }, diff: str }) }, summary: { type: 'object' }, text: str },
    ['changed', 'files', 'summary', 'text'],
  ),
  Offer: obj(
    {
      id: str,
      ruleId: str,
      sku: str,
      title: str,
      price: obj({ amount: int, currency: str }),
      discountPct: { type: 'number' },
      quantity: { ...int, description: 'units of the sku the offer sells; absent: not stated (one)' },
      variant: str,
      expiresAt: ms,
      data: { type: 'object' },
      createdAt: ms,
    },
    ['id', 'ruleId', 'sku', 'price', 'expiresAt'],
  ),
  Player: obj({
    id: str,
    bundleVersion: int,
    at: ms,
    player: { type: 'object', description: 'built-ins (id, first_seen, last_seen, events_total, offers_today, last_purchase_at) and every property, by name' },
    inbox: { type: 'array', items: ref('Offer') },
  }),
  RuleDecision: obj(
    {
      ruleId: str,
      mode: { enum: ['live', 'shadow'] },
      priority: int,
      variant: nullable(str),
      outcome: { enum: [...OUTCOMES] },
      reason: str,
      until: ms,
      offerId: str,
      values: { type: 'object', description: 'each path the condition read -> the value it saw' },
      error: str,
    },
    ['ruleId', 'mode', 'priority', 'variant', 'outcome', 'reason', 'values'],
  ),
  Decision: obj(
    {
      eventId: str,
      eventType: str,
      at: ms,
      bundleVersion: int,
      offerId: nullable(str),
      followUpOf: str,
      rules: { type: 'array', items: ref('RuleDecision') },
      offer: obj({ status: { enum: ['pending', 'shown', 'accepted', 'declined', 'purchased', 'expired', 'unknown'] }, responses: { type: 'object', additionalProperties: ms }, revenue: int }, ['status', 'responses']),
    },
    ['eventId', 'eventType', 'at', 'bundleVersion', 'offerId', 'rules'],
  ),
  Decisions: obj({ id: str, decisions: { type: 'array', items: ref('Decision') } }),
  StatRow: obj({
    ruleId: str,
    variant: { ...str, description: 'the variant (`default` without an experiment), or `(holdout)`: the global holdout, which carries only `exposed` and `spend` (its triggers count in their variant, blocked as `holdout`)' },
    mode: nullable({ enum: ['live', 'shadow'] }),
    published: { type: 'boolean' },
    ...Object.fromEntries(STAT_COUNTERS.map((c) => [c, c === 'exposed' ? { ...int, description: 'attribution windows opened: players whose trigger started counting their spend towards this rule' } : int])),
    revenue: { ...int, description: 'minor units, in `currency`' },
    currency: nullable(str),
    revenueByCurrency: { type: 'object', additionalProperties: int },
    spend: { ...int, description: 'what exposed players spent in their attribution windows (policy `revenue`), minor units in `spendCurrency`' },
    spendCurrency: nullable(str),
    spendByCurrency: { type: 'object', additionalProperties: int },
    spendPerExposed: nullable({ type: 'number' }),
    spendSq: { ...int, description: 'sum over attribution windows of the square of each window’s spend, minor units² in `spendCurrency` (for a variance)' },
    spendSqByCurrency: { type: 'object', additionalProperties: int },
    lift: { ...nullable({ type: 'number' }), description: 'spendPerExposed over the `(holdout)` row of the rule, minus 1 (0.12 = +12%); null without a baseline' },
    liftLow: { ...nullable({ type: 'number' }), description: 'lower end of the 95% confidence interval of `lift` (delta method); null while either group has fewer than two windows' },
    liftHigh: { ...nullable({ type: 'number' }), description: 'upper end of the 95% confidence interval of `lift`' },
    bandit: {
      ...nullable(
        obj(
          {
            objective: { enum: ['purchase_rate', 'revenue'] },
            share: { type: 'number', description: 'the probability that a player who triggers the rule is assigned this arm now (0..1)' },
            warmingUp: { type: 'boolean', description: 'true while some arm has made fewer than `warmup` offers: the shares are the weights' },
            mean: { ...nullable({ type: 'number' }), description: 'posterior mean of the objective: purchases per offer, or revenue per offer in minor units; null for a holdout arm' },
            low: { ...nullable({ type: 'number' }), description: 'lower end of the 95% posterior interval' },
            high: { ...nullable({ type: 'number' }), description: 'upper end of the 95% posterior interval' },
          },
          ['objective', 'share', 'warmingUp', 'mean', 'low', 'high'],
        ),
      ),
      description: 'live `allocation: bandit` rules only (else null): the arm’s current share and posterior',
    },
  }),
  Stats: obj({ rules: { type: 'array', items: ref('StatRow') } }),
  PulseRates: obj({
    at: { ...ms, description: 'time of the sample (the processors instance’s clock; 0: no sample)' },
    eventsPerSec: { type: 'number', description: 'events applied per second over the latest pulse interval' },
    decisionsPerSec: { type: 'number', description: 'rules decided for triggering events per second, any outcome' },
    offersPerSec: { type: 'number', description: 'live offers made per second' },
    lag: { ...int, description: 'consumer lag: messages not yet applied' },
  }),
  PipelineHealth: obj({
    instances: {
      type: 'array',
      items: {
        allOf: [
          ref('PulseRates'),
          obj({
            instance: { ...str, description: 'the processors instance id (PLAYPULSE_INSTANCE_ID)' },
            events: { ...int, description: 'events applied since the process started' },
            decisions: { ...int, description: 'rules decided since the process started' },
            offers: { ...int, description: 'live offers made since the process started' },
          }),
        ],
      },
    },
    total: ref('PulseRates'),
  }),
  Timeline: obj({
    ruleId: str,
    hours: { type: 'array', items: ms, description: 'hour starts, oldest first; every series below has one count per hour' },
    variants: {
      type: 'array',
      items: obj(Object.fromEntries(['variant', ...TIMELINE_STAGES].map((k) => [k, k === 'variant' ? str : { type: 'array', items: int }]))),
    },
  }),
  OpenApi: { type: 'object', description: 'this document' },
  AuditEntry: obj({
    id: { ...str, description: 'stream entry id, increasing' },
    at: ms,
    who: { ...str, description: 'the admin token name (or the CLI author)' },
    role: nullable(str),
    via: { enum: ['api', 'cli'] },
    action: { enum: ['publish', 'rollback', 'mode'] },
    from: { ...int, description: 'the version current before (0: none)' },
    to: { ...int, description: 'the version current after' },
    restored: { ...nullable(int), description: 'for a rollback: the version whose files are live again' },
    message: nullable(str),
    summary: { type: 'object', description: 'rules, properties, events and segments added, removed and changed; policyChanged' },
    files: { type: 'array', items: obj({ name: str, status: { enum: ['added', 'removed', 'changed'] } }) },
    modes: { type: 'array', items: obj({ rule: str, from: { enum: ['live', 'shadow', 'off'] }, to: { enum: ['live', 'shadow', 'off'] } }) },
  }),
  Audit: obj({ entries: { type: 'array', items: ref('AuditEntry') } }),
  Segment: obj({
    name: str,
    description: str,
    condition: { ...str, description: 'the CEL condition of segments.yaml' },
    active: { type: 'boolean', description: "true when the published rules or policy name it: only active segments are evaluated (and counted)" },
    maxOffersPerDay: { ...nullable(int), description: "the segment's daily cap of policy.yaml, or null" },
    today: { ...int, description: "approximate number of players decisions found in the segment on the current UTC day (HyperLogLog)" },
  }),
  Segments: obj({ day: { ...str, description: 'the UTC day counted, YYYY-MM-DD' }, segments: { type: 'array', items: ref('Segment') } }),
  ...BACKTEST_SCHEMAS,
};

const STATUS_TEXT: Record<number, string> = {
  400: 'bad request',
  401: 'missing or wrong admin token',
  403: 'the admin token is known but its role may not use this route (`x-playpulse-role` names the least role that may)',
  429: 'too many requests from this token (or address); retry after the Retry-After seconds',
  404: 'not found',
  409: 'conflict',
  413: 'body too large',
  422: 'the bundle does not validate; details.diagnostics lists why',
};

/** The OpenAPI 3.1 document of `routes` (every route needs a bearer token of its role). */
export function openApiDocument(routes: readonly Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const pathParams = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: str }));
    const query = (r.query ?? []).map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: q.schema }));
    const responses: Record<string, unknown> = {
      200: { description: 'OK', content: { 'application/json': { schema: ref(r.response) } } },
    };
    for (const status of [401, 403, 429, ...r.errors]) {
      responses[status] = { description: STATUS_TEXT[status] ?? 'error', content: { 'application/json': { schema: ref('Error') } } };
    }
    const op: Record<string, unknown> = { operationId: r.operationId, summary: r.summary, 'x-playpulse-role': r.role, responses };
    if (pathParams.length + query.length > 0) op.parameters = [...pathParams, ...query];
    if (r.requestBody) op.requestBody = { required: true, content: { 'application/json': { schema: ref(r.requestBody) } } };
    paths[r.path] = { ...(paths[r.path] ?? {}), [r.method.toLowerCase()]: op };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'PlayPulse admin API',
      version,
      description: 'Designer and operator API (docs/contract.md §5). Every route needs `Authorization: Bearer <admin token>` (PLAYPULSE_ADMIN_TOKEN or one of PLAYPULSE_ADMIN_TOKENS) of at least the role `x-playpulse-role` of the operation: viewer < editor < publisher. Errors are `{ error: { code, message, details } }`.',
    },
    security: [{ bearer: [] }],
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: SCHEMAS },
  };
}
