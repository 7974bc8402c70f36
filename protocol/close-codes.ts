/**
 * WebSocket close codes the edge uses (docs/contract.md §3) and the reason texts it sends with
 * them. A client reconnects after every one of them, with backoff; after 1008 it should
 * fetch a fresh token first when the reason is `token expired`.
 */
export const CLOSE = {
  /** The edge is shutting down and everything it took was acked; reconnect elsewhere. */
  GOING_AWAY: 1001,
  /** Policy: token expired mid-session, sustained rate-limit abuse, or a reader too slow to keep up. */
  POLICY: 1008,
  /** A frame over the size limit. */
  TOO_BIG: 1009,
  /** Overloaded (in-flight bound reached), too many connections (for the player, from the address, on the edge), or draining. */
  TRY_AGAIN_LATER: 1013,
} as const;

export const CLOSE_REASON = {
  tokenExpired: 'token expired',
  abuse: 'rate limit exceeded repeatedly',
  slowReader: 'reader too slow: backpressure limit reached',
  tooBig: 'frame over the size limit',
  overloaded: 'edge overloaded: in-flight limit reached',
  tooManyConnections: 'too many connections for this player',
  edgeFull: 'edge at its connection limit',
  tooManyFromAddress: 'too many connections from this address',
  draining: 'edge draining',
  shutdown: 'edge shutting down',
} as const;
