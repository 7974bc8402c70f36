/** The admin API's route shape: what the router dispatches and what the OpenAPI document describes. */
import type { AdminRole, Config } from '../../lib/config.ts';
import type { AdminActor } from './access.ts';
import type { RedisClient } from '../../lib/redis.ts';
import type { BundleStore } from '../../designer/store.ts';
import type { ReadState } from '../jobs/follow-up.ts';
import type { Backtests } from '../backtest/service.ts';
import type { DecisionStreamReader } from './players.ts';

export interface AdminDeps {
  readonly config: Config;
  readonly redis: RedisClient;
  readonly bundles: BundleStore;
  readonly readState: ReadState;
  /** Backtest jobs (offers/backtest); absent in a process that runs none. */
  readonly backtests?: Backtests;
  /** The decision stream, for decisions older than the few each player keeps in Redis; absent: Redis only. */
  readonly decisionStream?: DecisionStreamReader;
}

export interface RouteContext {
  readonly deps: AdminDeps;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Who calls: the admin token's name and role. */
  readonly actor: AdminActor;
  /** The JSON object body (read lazily, size-limited). */
  body(): Promise<Record<string, unknown>>;
}

export interface QueryParam {
  readonly name: string;
  readonly description: string;
  readonly schema: Record<string, unknown>;
}

/**
 * One admin route: what the router dispatches and what the OpenAPI document describes.
 * `response` and `requestBody` name schemas of openapi.ts; `errors` the statuses the route
 * may answer besides 200, 401, 403 and 429.
 */
export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** OpenAPI path template, e.g. `/v1/players/{id}`. */
  readonly path: string;
  readonly operationId: string;
  /** The least role that may call it: viewer (reads), editor (validates, diffs and backtests drafts), publisher (changes what is live). */
  readonly role: AdminRole;
  readonly summary: string;
  readonly requestBody?: string;
  readonly response: string;
  readonly query?: readonly QueryParam[];
  readonly errors: readonly number[];
  handle(ctx: RouteContext): Promise<unknown>;
}
