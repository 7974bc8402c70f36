/**
 * The closed list of PlayPulse errors. Every error a user or operator can see is a
 * PlayPulseError with one of these codes (plain `Error` only for programmer errors, each with
 * a `// programmer error:` reason; test/unit/errors-registry.test.ts holds that); `wire` is the `err.code` a client sees (docs/contract.md §3) where the error
 * reaches a socket, `http` the status where it reaches the admin API. docs/errors.md lists
 * every code; a test fails when one is missing there.
 */
export interface ErrorSpec {
  readonly retriable: boolean;
  readonly message: string;
  readonly wire?: string;
  readonly http?: number;
}

export const ERRORS = {
  CONFIG_INVALID: { retriable: false, message: 'a configuration variable is invalid' },
  STACK_UNAVAILABLE: { retriable: true, message: 'a required service (Kafka or Redis) cannot be reached or started' },
  STACK_MISSING_TOOL: { retriable: false, message: 'a tool needed to start the local stack is not installed' },
  LISTEN_FAILED: { retriable: true, message: 'a server cannot listen on its port (in use or not permitted)' },
  SHUTDOWN_TIMEOUT: { retriable: false, message: 'a part did not stop within its shutdown deadline' },

  AUTH_MISSING: { retriable: false, http: 401, message: 'no token was given' },
  AUTH_INVALID: { retriable: false, http: 401, message: 'the token is malformed, badly signed, of an unknown key id, expired, or of another audience or issuer' },

  EDGE_BAD_FRAME: { retriable: false, wire: 'bad_frame', message: 'the frame is not a decodable MessagePack map with a known `t`' },
  EDGE_BAD_EVENT: { retriable: false, wire: 'bad_event', message: 'the event fails validation' },
  EDGE_RATE_LIMITED: { retriable: true, wire: 'rate_limited', message: 'too many events; slow down' },
  EDGE_UNAVAILABLE: { retriable: true, wire: 'unavailable', message: 'Kafka cannot take events now; nothing was acked, retry' },
  EDGE_FRAME_TOO_LARGE: { retriable: false, message: 'the frame is over the size limit' },
  EDGE_OVERLOADED: { retriable: true, message: 'the edge is overloaded or draining' },
  EDGE_TOO_MANY_CONNECTIONS: { retriable: true, message: 'too many connections for this player' },
  EDGE_BAD_STREAM: { retriable: false, http: 400, message: 'the upgrade parameter `stream` is not 1..64 of [A-Za-z0-9_.:-]' },

  PROC_POISON_EVENT: { retriable: false, message: 'an event in the topic cannot be decoded or applied' },
  PROC_DECISION_FAILED: { retriable: false, message: 'the decision of an applied event failed every time; the event was dead-lettered' },
  FULFILMENT_FAILED: { retriable: true, message: 'the fulfilment webhook is unreachable or answered an error' },

  PROC_FIELD_TYPE: { retriable: false, message: 'an event field has the wrong type for a property' },

  RULE_SCHEMA: { retriable: false, http: 422, message: 'a designer file does not match its schema' },
  RULE_YAML: { retriable: false, http: 422, message: 'a designer file is not valid YAML' },
  RULE_TYPE_ERROR: { retriable: false, http: 422, message: 'a CEL condition or offer expression does not type-check' },
  RULE_REFERENCE: { retriable: false, http: 422, message: 'a designer file names something that is not declared' },
  RULE_CONFLICT: { retriable: false, http: 422, message: 'designer files contradict each other' },
  RULE_NO_VERSION: { retriable: false, http: 409, message: 'there is no earlier version to roll back to' },

  ADMIN_UNAUTHORIZED: { retriable: false, http: 401, message: 'missing or wrong admin token' },
  ADMIN_FORBIDDEN: { retriable: false, http: 403, message: 'the admin token is known but its role may not use this route' },
  ADMIN_RATE_LIMITED: { retriable: true, http: 429, message: 'too many admin requests; retry after the Retry-After seconds' },
  ADMIN_NOT_FOUND: { retriable: false, http: 404, message: 'no such route or resource' },
  ADMIN_BAD_REQUEST: { retriable: false, http: 400, message: 'the request body is not what the route takes' },
  ADMIN_TOO_LARGE: { retriable: false, http: 413, message: 'the request body is too large' },
  ADMIN_INTERNAL: { retriable: true, http: 500, message: 'the request failed inside the server (details in the server log)' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** The wire `err.code` values of docs/contract.md §3. */
export type WireErrorCode = 'bad_frame' | 'bad_event' | 'rate_limited' | 'unavailable';

export class PlayPulseError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].message, options);
    this.name = 'PlayPulseError';
    this.code = code;
    this.retriable = ERRORS[code].retriable;
    this.details = details;
  }

  get wire(): WireErrorCode | undefined {
    const spec: ErrorSpec = ERRORS[this.code];
    return spec.wire as WireErrorCode | undefined;
  }

  get http(): number {
    const spec: ErrorSpec = ERRORS[this.code];
    return spec.http ?? 500;
  }
}

export function isPlayPulseError(err: unknown, code?: ErrorCode): err is PlayPulseError {
  return err instanceof PlayPulseError && (code === undefined || err.code === code);
}

/** The message of anything thrown: an Error's message, or the thrown value as a string. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
