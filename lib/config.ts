import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { PlayPulseError } from './errors.ts';

/**
 * The whole configuration, read once from the environment at start, validated, frozen.
 * docs/contract.md §1 lists the public variables; the PLAYPULSE_* tuning variables below are
 * documented in README.md. Units are in the names.
 */
export const DEV_AUTH_SECRET = 'playpulse-dev-secret-do-not-use-in-production';
export const DEV_ADMIN_TOKEN = 'playpulse-dev-admin-token';

/**
 * Production mode (docs/contract.md §1, docs/operations.md "Production mode"): refuses the
 * dev defaults and secrets shorter than this. PLAYPULSE_ENV decides when set; otherwise
 * NODE_ENV=production means production.
 */
export const PRODUCTION_SECRET_MIN_BYTES = 32;
/** Keys PLAYPULSE_AUTH_SECRETS may list: a kid-less token is tried against each of them. */
export const MAX_AUTH_KEYS = 4;
const KID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Processors' consumer group timing. A member that stops heartbeating (killed, host gone)
 * keeps its partitions until its session times out, so the session timeout is the stall a
 * crash costs; 6 s is the smallest session a broker accepts by default
 * (group.min.session.timeout.ms). docs/operations.md "Failover" weighs it against false
 * evictions.
 */
export const DEFAULT_SESSION_TIMEOUT_MS = 6_000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1_000;
/** The batch handler heartbeats every second while a step runs: a session must outlast a few of those. */
const MIN_SESSION_TIMEOUT_MS = 3_000;
const MAX_SESSION_TIMEOUT_MS = 1_800_000;

/**
 * The test-only fail point (docs/operations.md §7, "The integrity suite"): a processors
 * process SIGKILLs itself at a step of its n-th chunk (`<step>:<n>`), or SIGSTOPs itself
 * there (`<step>:<n>:stop`: a zombie, until the test sends SIGCONT). Never set outside tests;
 * production mode refuses it.
 */
const FAIL_POINT_PATTERN = /^(after-apply|after-claim|after-record|after-decide):([1-9][0-9]{0,5})(:stop)?$/;

/**
 * Where the fail point strikes, always before the chunk's offset is resolved: after its apply
 * write (nothing decided); after the decide step claimed budget units, before the player
 * writes that record the decisions (counted per decide call that claimed a unit); after the
 * decide write that recorded offers, before they are routed to the edge (counted per decide
 * call that recorded an offer); after its whole decide step (offers recorded, routed,
 * lifecycle jobs queued).
 */
export type FailPointStep = 'after-apply' | 'after-claim' | 'after-record' | 'after-decide';

export interface FailPoint {
  readonly step: FailPointStep;
  /** 1-based: the chunk (of this process, over all partitions) that reaches `step` n-th. */
  readonly chunk: number;
  /** `kill`: SIGKILL itself there; `stop`: SIGSTOP itself there (resumed by SIGCONT, a zombie member by then). */
  readonly action: 'kill' | 'stop';
}

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);

const brokerList = z
  .string()
  .transform((s) => s.split(',').map((b) => b.trim()).filter((b) => b.length > 0))
  .pipe(
    z
      .array(z.string().regex(/^[A-Za-z0-9._-]+(:\d{1,5})$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'expected host:port'))
      .min(1, 'expected at least one host:port'),
  );

const redisUrl = z
  .string()
  .regex(/^(redis|rediss|redis\+cluster):\/\/\S+$/, 'expected redis://host:port[/db] or redis+cluster://host:port,host:port');

/** `kid:secret,kid:secret`: the current key first, then the ones still accepted. */
const authKeyList = z
  .string()
  .transform((s, ctx) => {
    const keys: AuthKey[] = [];
    for (const entry of s.split(',').map((e) => e.trim()).filter((e) => e.length > 0)) {
      const colon = entry.indexOf(':');
      const kid = colon < 0 ? '' : entry.slice(0, colon);
      const secret = colon < 0 ? '' : entry.slice(colon + 1);
      if (!KID_PATTERN.test(kid)) {
        ctx.addIssue({ code: 'custom', message: 'every entry must be kid:secret, kid 1-64 of A-Z a-z 0-9 _ . -' });
        return z.NEVER;
      }
      if (secret.length < 16) {
        ctx.addIssue({ code: 'custom', message: `the secret of kid "${kid}" must be at least 16 characters` });
        return z.NEVER;
      }
      if (keys.some((k) => k.kid === kid)) {
        ctx.addIssue({ code: 'custom', message: `kid "${kid}" is listed twice` });
        return z.NEVER;
      }
      keys.push({ kid, secret });
    }
    if (keys.length === 0 || keys.length > MAX_AUTH_KEYS) {
      ctx.addIssue({ code: 'custom', message: `expected 1 to ${MAX_AUTH_KEYS} kid:secret entries, the current key first` });
      return z.NEVER;
    }
    return keys;
  });

/*
 * The admin API's access (docs/contract.md §5, docs/operations.md "Admin access"): named
 * tokens with a role, the bind address, the per-token rate limit and the optional port of
 * /metrics of its own.
 */
export const ADMIN_ROLES = ['viewer', 'editor', 'publisher'] as const;
/** viewer: GET routes; editor: also validate, diff and backtest drafts; publisher: also publish and roll back. */
export type AdminRole = (typeof ADMIN_ROLES)[number];

export interface AdminToken {
  /** Who, in the audit log and the version history. */
  readonly name: string;
  readonly role: AdminRole;
  readonly token: string;
}

/** The name PLAYPULSE_ADMIN_TOKEN (and the dev default) goes by: a publisher. */
export const LEGACY_ADMIN_NAME = 'admin';
const ADMIN_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const ADMIN_TOKEN_MIN_CHARS = 16;

/** `name:role:token,…`; the token is everything after the second colon. Token values never appear in a message. */
const adminTokenList = z.string().transform((s, ctx) => {
  const tokens: AdminToken[] = [];
  const entries = s.split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  for (const [i, entry] of entries.entries()) {
    const first = entry.indexOf(':');
    const second = first < 0 ? -1 : entry.indexOf(':', first + 1);
    const fail = (message: string): never => {
      ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: ${message}` });
      return z.NEVER;
    };
    if (second < 0) return fail('every entry must be name:role:token');
    const name = entry.slice(0, first);
    const role = entry.slice(first + 1, second);
    const token = entry.slice(second + 1);
    if (!ADMIN_NAME_PATTERN.test(name)) return fail('the name must be 1-64 of A-Z a-z 0-9 _ . -');
    if (!(ADMIN_ROLES as readonly string[]).includes(role)) return fail(`the role of "${name}" must be one of ${ADMIN_ROLES.join(', ')}`);
    if (token.length < ADMIN_TOKEN_MIN_CHARS) return fail(`the token of "${name}" must be at least ${ADMIN_TOKEN_MIN_CHARS} characters`);
    if (/\s/.test(token)) return fail(`the token of "${name}" must not contain white space`);
    if (tokens.some((t) => t.name === name)) return fail(`the name "${name}" is listed twice`);
    tokens.push({ name, role: role as AdminRole, token });
  }
  if (tokens.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected at least one name:role:token entry' });
    return z.NEVER;
  }
  return tokens;
});

/** An IPv4 or IPv6 address or a host name to bind to. */
const bindHost = z
  .string()
  .refine(
    (s) => isIP(s) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(s),
    'expected an IP address (0.0.0.0, 127.0.0.1, ::) or a host name',
  );

/** The admin tokens of the configuration: PLAYPULSE_ADMIN_TOKEN as `admin` first, then PLAYPULSE_ADMIN_TOKENS; the dev token when neither is set. */
function adminTokensOf(e: z.infer<typeof envSchema>): AdminToken[] {
  const tokens: AdminToken[] = [];
  if (e.PLAYPULSE_ADMIN_TOKEN !== undefined || e.PLAYPULSE_ADMIN_TOKENS === undefined) {
    tokens.push({ name: LEGACY_ADMIN_NAME, role: 'publisher', token: e.PLAYPULSE_ADMIN_TOKEN ?? DEV_ADMIN_TOKEN });
  }
  return [...tokens, ...(e.PLAYPULSE_ADMIN_TOKENS ?? [])];
}

/** What no mode accepts in the admin settings: a name or a token given twice, a metrics port shared with another. */
function adminProblems(e: z.infer<typeof envSchema>, tokens: readonly AdminToken[]): string[] {
  const problems: string[] = [];
  if (e.PLAYPULSE_ADMIN_TOKEN !== undefined && tokens.slice(1).some((t) => t.name === LEGACY_ADMIN_NAME)) {
    problems.push(`PLAYPULSE_ADMIN_TOKENS names "${LEGACY_ADMIN_NAME}", the name PLAYPULSE_ADMIN_TOKEN goes by: pick another name`);
  }
  for (const [i, t] of tokens.entries()) {
    const twin = tokens.findIndex((o, j) => j < i && o.token === t.token);
    if (twin >= 0) problems.push(`PLAYPULSE_ADMIN_TOKENS gives "${t.name}" the same token as "${(tokens[twin] as AdminToken).name}": every name needs a token of its own`);
  }
  const metrics = e.PLAYPULSE_METRICS_PORT;
  if (metrics !== undefined && metrics !== 0) {
    for (const [name, value] of [['EDGE_PORT', e.EDGE_PORT], ['ADMIN_PORT', e.ADMIN_PORT], ['HEALTH_PORT', e.HEALTH_PORT]] as const) {
      if (value === metrics) problems.push(`PLAYPULSE_METRICS_PORT=${metrics} is also ${name}: /metrics needs a port of its own`);
    }
  }
  return problems;
}

/** Production mode's admin checks: every token at least PRODUCTION_SECRET_MIN_BYTES and not the dev default. */
function adminProductionProblems(e: z.infer<typeof envSchema>): string[] {
  const problems: string[] = [];
  if (e.PLAYPULSE_ADMIN_TOKEN === undefined && e.PLAYPULSE_ADMIN_TOKENS === undefined) {
    problems.push(`PLAYPULSE_ADMIN_TOKEN is not set (nor PLAYPULSE_ADMIN_TOKENS); production mode needs one of at least ${PRODUCTION_SECRET_MIN_BYTES} bytes`);
  }
  const check = (what: string, value: string): void => {
    if (value === DEV_ADMIN_TOKEN) problems.push(`${what} is the dev default; set a secret of your own`);
    else if (Buffer.byteLength(value, 'utf8') < PRODUCTION_SECRET_MIN_BYTES) {
      problems.push(`${what} is ${Buffer.byteLength(value, 'utf8')} bytes; production mode needs at least ${PRODUCTION_SECRET_MIN_BYTES}`);
    }
  };
  if (e.PLAYPULSE_ADMIN_TOKEN !== undefined) check('PLAYPULSE_ADMIN_TOKEN', e.PLAYPULSE_ADMIN_TOKEN);
  for (const t of e.PLAYPULSE_ADMIN_TOKENS ?? []) check(`PLAYPULSE_ADMIN_TOKENS (token of "${t.name}")`, t.token);
  return problems;
}

export interface AdminAccess {
  /** Every accepted admin token; never empty. */
  readonly tokens: readonly AdminToken[];
  /** The address the admin API binds to (PLAYPULSE_ADMIN_HOST). */
  readonly host: string;
  /** Requests per second per token (per remote address without a known token); 0: no limit. */
  readonly ratePerSec: number;
  readonly rateBurst: number;
}

const envSchema = z.object({
  PLAYPULSE_ENV: z.enum(['production', 'development'], { message: 'must be production or development' }).optional(),
  KAFKA_BROKERS: brokerList.optional(),
  REDIS_URL: redisUrl.optional(),
  PLAYPULSE_AUTH_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  PLAYPULSE_AUTH_SECRETS: authKeyList.optional(),
  PLAYPULSE_AUTH_AUDIENCE: z.string().regex(/^\S{1,256}$/, 'must be 1-256 characters without spaces').optional(),
  PLAYPULSE_AUTH_ISSUER: z.string().regex(/^\S{1,256}$/, 'must be 1-256 characters without spaces').optional(),
  PLAYPULSE_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  PLAYPULSE_ADMIN_TOKENS: adminTokenList.optional(),
  PLAYPULSE_ADMIN_HOST: bindHost.default('0.0.0.0'),
  PLAYPULSE_ADMIN_RATE_PER_SEC: nonNegativeInt.default(20),
  PLAYPULSE_ADMIN_RATE_BURST: positiveInt.default(100),
  PLAYPULSE_METRICS_PORT: port.optional(),
  EDGE_PORT: port.default(9001),
  ADMIN_PORT: port.default(9002),
  HEALTH_PORT: port.default(9003),
  PLAYPULSE_RULES_DIR: z.string().min(1).default('offers/rules'),
  PLAYPULSE_FULFILMENT_URL: z.url({ protocol: /^https?$/ }).optional(),

  PLAYPULSE_INSTANCE_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
  PLAYPULSE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PLAYPULSE_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/).default('pp'),
  PLAYPULSE_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{0,100}$/).default(''),
  PLAYPULSE_PARTITIONS: positiveInt.max(1024).default(6),
  PLAYPULSE_DECISIONS_RETENTION_MS: positiveInt.min(3_600_000).default(30 * 86_400_000),
  PLAYPULSE_KAFKA_CONNECT_TIMEOUT_MS: positiveInt.default(10_000),

  PLAYPULSE_MAX_PAYLOAD_BYTES: positiveInt.max(16 * 1024 * 1024).default(64 * 1024),
  PLAYPULSE_IDLE_TIMEOUT_SEC: nonNegativeInt.max(960).default(120),
  PLAYPULSE_MAX_BACKPRESSURE_BYTES: positiveInt.default(1024 * 1024),
  PLAYPULSE_RATE_PER_SEC: positiveInt.default(200),
  PLAYPULSE_RATE_BURST: positiveInt.default(1000),
  PLAYPULSE_MAX_CONNS_PER_PLAYER: positiveInt.default(4),
  PLAYPULSE_MAX_CONNECTIONS: positiveInt.default(100_000),
  PLAYPULSE_MAX_CONNS_PER_IP: nonNegativeInt.default(0),
  PLAYPULSE_INFLIGHT_BYTES_PER_CONN: positiveInt.default(1024 * 1024),
  PLAYPULSE_INFLIGHT_BYTES_GLOBAL: positiveInt.default(256 * 1024 * 1024),
  // 1 ms, Node's shortest timer: against 2 ms, at 500 records/s the ack p99 fell by about a
  // quarter and the p50 by a sixth, for a tenth more sends (docs/stack.md, "What Kafka leaves
  // of the edge's ack budget").
  PLAYPULSE_LINGER_MS: nonNegativeInt.max(1000).default(1),
  PLAYPULSE_DRAIN_TIMEOUT_MS: positiveInt.default(10_000),

  PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS: positiveInt
    .min(MIN_SESSION_TIMEOUT_MS, `must be at least ${MIN_SESSION_TIMEOUT_MS} ms`)
    .max(MAX_SESSION_TIMEOUT_MS, `must be at most ${MAX_SESSION_TIMEOUT_MS} ms (the broker's default group.max.session.timeout.ms)`)
    .default(DEFAULT_SESSION_TIMEOUT_MS),
  PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS: positiveInt.min(100, 'must be at least 100 ms').default(DEFAULT_HEARTBEAT_INTERVAL_MS),
  PLAYPULSE_PROCESSOR_SLOT: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ . -').optional(),
  PLAYPULSE_FAILPOINT: z
    .string()
    .regex(FAIL_POINT_PATTERN, 'must be <step>:<n> or <step>:<n>:stop, step after-apply, after-claim, after-record or after-decide, n 1-999999 (a test-only fault injection)')
    .optional(),

  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL (the OTLP/HTTP endpoint; spans go to <url>/v1/traces)' }).optional(),
  PLAYPULSE_TRACE_SAMPLE_RATE: z.coerce.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').default(0.01),
});

/** A player-token key: `kid` null for the single PLAYPULSE_AUTH_SECRET (token `kid` ignored). */
export interface AuthKey {
  readonly kid: string | null;
  readonly secret: string;
}

/** How player tokens are checked (docs/contract.md §2). */
export interface PlayerAuth {
  /** The current key first (it signs), then the keys still accepted during a rollover. */
  readonly keys: readonly AuthKey[];
  /** When set, a token must carry this `aud` (a string, or an array holding it). */
  readonly audience: string | null;
  /** When set, a token's `iss` must be exactly this. */
  readonly issuer: string | null;
}

export interface Config {
  /** Production mode: dev defaults and short secrets were refused at load. */
  readonly production: boolean;
  /** null: nothing configured, the local stack finds or starts a broker. */
  readonly kafkaBrokers: readonly string[] | null;
  /** null: nothing configured, the local stack finds or starts a Redis. */
  readonly redisUrl: string | null;
  /** The current player-token secret (the first of `auth.keys`). */
  readonly authSecret: string;
  /** Some player-token key is the dev secret (possible only outside production mode). */
  readonly authSecretIsDev: boolean;
  readonly auth: PlayerAuth;
  /** PLAYPULSE_ADMIN_TOKEN (or the dev default); with only PLAYPULSE_ADMIN_TOKENS set, the first token of `admin.tokens`. */
  readonly adminToken: string;
  /** The admin token is the dev default (possible only outside production mode). */
  readonly adminTokenIsDev: boolean;
  /** Admin tokens and roles, bind address and rate limit of the admin API. */
  readonly admin: AdminAccess;
  /** PLAYPULSE_METRICS_PORT: /metrics on a port of its own (and not on the health port); null: on the health port. */
  readonly metricsPort: number | null;
  readonly edgePort: number;
  readonly adminPort: number;
  readonly healthPort: number;
  readonly rulesDir: string;
  readonly fulfilmentUrl: string | null;
  readonly instanceId: string;
  readonly logLevel: string;
  readonly keyPrefix: string;
  readonly topics: {
    readonly events: string;
    readonly deadLetter: string;
    /** Every recorded decision in full (offers/engine/decision-log.ts), kept `decisionsRetentionMs`. */
    readonly decisions: string;
    readonly partitions: number;
    readonly decisionsRetentionMs: number;
  };
  readonly kafkaConnectTimeoutMs: number;
  readonly edge: {
    readonly maxPayloadBytes: number;
    readonly idleTimeoutSec: number;
    readonly maxBackpressureBytes: number;
    readonly ratePerSec: number;
    readonly rateBurst: number;
    readonly maxConnsPerPlayer: number;
    /** Sockets one edge process holds at most. */
    readonly maxConnections: number;
    /** Sockets from one remote address at most; 0: no per-address cap. */
    readonly maxConnsPerIp: number;
    readonly inflightBytesPerConn: number;
    readonly inflightBytesGlobal: number;
    readonly lingerMs: number;
    readonly drainTimeoutMs: number;
  };
  readonly processors: {
    /** Consumer group session timeout: how long a silent member keeps its partitions. */
    readonly sessionTimeoutMs: number;
    /** How often the consumer heartbeats; at most a third of the session timeout. */
    readonly heartbeatIntervalMs: number;
    /** Stable processor identity across restarts (PLAYPULSE_PROCESSOR_SLOT, else an explicit PLAYPULSE_INSTANCE_ID); lets a restarted process evict its dead predecessor from the group at once. */
    readonly slot: string | null;
    /** Test-only (PLAYPULSE_FAILPOINT): kill the process at this point; null, always, outside tests. */
    readonly failPoint: FailPoint | null;
  };
  /** Traces (lib/tracing.ts): off while `endpoint` is null. */
  readonly tracing: {
    /** OTEL_EXPORTER_OTLP_ENDPOINT: the OTLP/HTTP collector. */
    readonly endpoint: string | null;
    /** Share of client frames the edge traces, 0..1. */
    readonly sampleRate: number;
  };
}

/** Variables whose values never appear in an error message. */
const SECRET_VARIABLES = new Set(['PLAYPULSE_AUTH_SECRET', 'PLAYPULSE_AUTH_SECRETS', 'PLAYPULSE_ADMIN_TOKEN', 'PLAYPULSE_ADMIN_TOKENS']);

/** Reads and validates the environment; throws CONFIG_INVALID naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') present[key] = value;
  }
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      const value = present[name] ?? '';
      return `${name}=${SECRET_VARIABLES.has(name) ? `(${Buffer.byteLength(value)} bytes, not shown)` : JSON.stringify(value)}: ${issue.message}`;
    });
    throw new PlayPulseError('CONFIG_INVALID', `invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  if (e.PLAYPULSE_AUTH_SECRET !== undefined && e.PLAYPULSE_AUTH_SECRETS !== undefined) {
    throw new PlayPulseError(
      'CONFIG_INVALID',
      'invalid configuration:\n  PLAYPULSE_AUTH_SECRET and PLAYPULSE_AUTH_SECRETS are both set: set one (PLAYPULSE_AUTH_SECRETS for key rotation)',
    );
  }
  const authKeys: readonly AuthKey[] = e.PLAYPULSE_AUTH_SECRETS ?? [{ kid: null, secret: e.PLAYPULSE_AUTH_SECRET ?? DEV_AUTH_SECRET }];
  const production = e.PLAYPULSE_ENV !== undefined ? e.PLAYPULSE_ENV === 'production' : env.NODE_ENV === 'production';
  const adminTokens = adminTokensOf(e);
  const adminIssues = adminProblems(e, adminTokens);
  if (adminIssues.length > 0) throw new PlayPulseError('CONFIG_INVALID', `invalid configuration:\n  ${adminIssues.join('\n  ')}`);
  if (production) {
    const problems = productionProblems(e, authKeys);
    if (e.PLAYPULSE_FAILPOINT !== undefined) problems.push('PLAYPULSE_FAILPOINT is a test-only fault injection (it kills or stops the process); production mode refuses it');
    if (problems.length > 0) {
      const why = e.PLAYPULSE_ENV !== undefined ? 'PLAYPULSE_ENV=production' : 'NODE_ENV=production and PLAYPULSE_ENV unset';
      throw new PlayPulseError('CONFIG_INVALID', `invalid configuration for production mode (${why}):\n  ${problems.join('\n  ')}`);
    }
  }
  if (e.PLAYPULSE_INFLIGHT_BYTES_PER_CONN > e.PLAYPULSE_INFLIGHT_BYTES_GLOBAL) {
    throw new PlayPulseError(
      'CONFIG_INVALID',
      'invalid configuration:\n  PLAYPULSE_INFLIGHT_BYTES_PER_CONN must not exceed PLAYPULSE_INFLIGHT_BYTES_GLOBAL',
    );
  }
  if (e.PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS * 3 > e.PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS) {
    throw new PlayPulseError(
      'CONFIG_INVALID',
      `invalid configuration:\n  PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS=${e.PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS} must be at most a third of ` +
        `PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS=${e.PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS}, so that a missed heartbeat or two does not evict a live processor`,
    );
  }
  const topicPrefix = e.PLAYPULSE_TOPIC_PREFIX;
  const config: Config = {
    kafkaBrokers: e.KAFKA_BROKERS ?? null,
    redisUrl: e.REDIS_URL ?? null,
    production,
    authSecret: (authKeys[0] as AuthKey).secret,
    authSecretIsDev: authKeys.some((k) => k.secret === DEV_AUTH_SECRET),
    auth: { keys: authKeys, audience: e.PLAYPULSE_AUTH_AUDIENCE ?? null, issuer: e.PLAYPULSE_AUTH_ISSUER ?? null },
    adminToken: (adminTokens[0] as AdminToken).token,
    adminTokenIsDev: adminTokens.some((t) => t.token === DEV_ADMIN_TOKEN),
    admin: { tokens: adminTokens, host: e.PLAYPULSE_ADMIN_HOST, ratePerSec: e.PLAYPULSE_ADMIN_RATE_PER_SEC, rateBurst: e.PLAYPULSE_ADMIN_RATE_BURST },
    metricsPort: e.PLAYPULSE_METRICS_PORT ?? null,
    edgePort: e.EDGE_PORT,
    adminPort: e.ADMIN_PORT,
    healthPort: e.HEALTH_PORT,
    rulesDir: e.PLAYPULSE_RULES_DIR,
    fulfilmentUrl: e.PLAYPULSE_FULFILMENT_URL ?? null,
    instanceId: e.PLAYPULSE_INSTANCE_ID ?? `${hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40)}-${randomBytes(3).toString('hex')}`,
    logLevel: e.PLAYPULSE_LOG_LEVEL,
    keyPrefix: e.PLAYPULSE_KEY_PREFIX,
    topics: {
      events: `${topicPrefix}player-events`,
      deadLetter: `${topicPrefix}player-events.dlq`,
      decisions: `${topicPrefix}player-decisions`,
      partitions: e.PLAYPULSE_PARTITIONS,
      decisionsRetentionMs: e.PLAYPULSE_DECISIONS_RETENTION_MS,
    },
    kafkaConnectTimeoutMs: e.PLAYPULSE_KAFKA_CONNECT_TIMEOUT_MS,
    edge: {
      maxPayloadBytes: e.PLAYPULSE_MAX_PAYLOAD_BYTES,
      idleTimeoutSec: e.PLAYPULSE_IDLE_TIMEOUT_SEC,
      maxBackpressureBytes: e.PLAYPULSE_MAX_BACKPRESSURE_BYTES,
      ratePerSec: e.PLAYPULSE_RATE_PER_SEC,
      rateBurst: e.PLAYPULSE_RATE_BURST,
      maxConnsPerPlayer: e.PLAYPULSE_MAX_CONNS_PER_PLAYER,
      maxConnections: e.PLAYPULSE_MAX_CONNECTIONS,
      maxConnsPerIp: e.PLAYPULSE_MAX_CONNS_PER_IP,
      inflightBytesPerConn: e.PLAYPULSE_INFLIGHT_BYTES_PER_CONN,
      inflightBytesGlobal: e.PLAYPULSE_INFLIGHT_BYTES_GLOBAL,
      lingerMs: e.PLAYPULSE_LINGER_MS,
      drainTimeoutMs: e.PLAYPULSE_DRAIN_TIMEOUT_MS,
    },
    processors: {
      sessionTimeoutMs: e.PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: e.PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS,
      // The stable identity a restart keeps (docs/operations.md "Failover"): the slot, else an
      // explicitly set instance id; a generated instance id changes on restart, so none.
      slot: e.PLAYPULSE_PROCESSOR_SLOT ?? e.PLAYPULSE_INSTANCE_ID ?? null,
      failPoint: e.PLAYPULSE_FAILPOINT === undefined ? null : parseFailPoint(e.PLAYPULSE_FAILPOINT),
    },
    tracing: { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT ?? null, sampleRate: e.PLAYPULSE_TRACE_SAMPLE_RATE },
  };
  return deepFreeze(config);
}

/** PLAYPULSE_FAILPOINT, already matched against FAIL_POINT_PATTERN by the schema. */
function parseFailPoint(value: string): FailPoint {
  const m = FAIL_POINT_PATTERN.exec(value);
  // programmer error: the schema admitted only values of this pattern
  if (!m) throw new Error(`PLAYPULSE_FAILPOINT ${JSON.stringify(value)} passed the schema without matching it`);
  return { step: m[1] as FailPointStep, chunk: Number(m[2]), action: m[3] === ':stop' ? 'stop' : 'kill' };
}

/**
 * What production mode refuses: a missing or dev-default secret, or one shorter than
 * PRODUCTION_SECRET_MIN_BYTES (UTF-8 bytes, the HMAC key length). Unset Kafka and Redis
 * addresses are not refused: they are resolved at start, not defaulted to a secret.
 */
function productionProblems(e: z.infer<typeof envSchema>, authKeys: readonly AuthKey[]): string[] {
  const problems: string[] = [];
  const check = (name: string, value: string | undefined, devDefault: string): void => {
    if (value === undefined) problems.push(`${name} is not set; production mode needs one of at least ${PRODUCTION_SECRET_MIN_BYTES} bytes`);
    else if (value === devDefault) problems.push(`${name} is the dev default; set a secret of your own`);
    else if (Buffer.byteLength(value, 'utf8') < PRODUCTION_SECRET_MIN_BYTES) {
      problems.push(`${name} is ${Buffer.byteLength(value, 'utf8')} bytes; production mode needs at least ${PRODUCTION_SECRET_MIN_BYTES}`);
    }
  };
  if (e.PLAYPULSE_AUTH_SECRETS !== undefined) {
    for (const key of authKeys) check(`PLAYPULSE_AUTH_SECRETS (kid "${key.kid}")`, key.secret, DEV_AUTH_SECRET);
  } else {
    check(e.PLAYPULSE_AUTH_SECRET === undefined ? 'PLAYPULSE_AUTH_SECRET (or PLAYPULSE_AUTH_SECRETS)' : 'PLAYPULSE_AUTH_SECRET', e.PLAYPULSE_AUTH_SECRET, DEV_AUTH_SECRET);
  }
  problems.push(...adminProductionProblems(e));
  return problems;
}

/** The same config with addresses filled in once the local stack is resolved. */
export function withServices(config: Config, services: { kafkaBrokers: readonly string[]; redisUrl: string }): Config {
  return deepFreeze({ ...config, kafkaBrokers: [...services.kafkaBrokers], redisUrl: services.redisUrl });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
