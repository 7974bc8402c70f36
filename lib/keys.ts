/**
 * Redis key names. Every key of one player carries the hash tag `{p:<id>}` so a player's
 * keys live in one Cluster slot and one Lua script may touch them all. Global keys carry
 * their own tags. `prefix` (PLAYPULSE_KEY_PREFIX) lets tests, replays and backtests use a
 * namespace of their own.
 */
export function playerTag(prefix: string, playerId: string): string {
  return `${prefix}:{p:${playerId}}`;
}

export const playerKeys = (prefix: string, playerId: string) => {
  const tag = playerTag(prefix, playerId);
  return {
    /**
     * HASH: built-ins and property values, as the rules see them (processors/state.ts). Every per-player key expires after the policy's
     * `retention` from its latest write (Redis server clock), unless said otherwise.
     */
    state: `${tag}:state`,
    /** HASH: apply markers: `<partition>` -> last applied offset; `s:<stream>` -> a client stream's highest seq and holes. */
    watermark: `${tag}:wm`,
    /** ZSET: ids of recently applied events sent without a stream seq, score = event time; bounded, expires after a day. */
    seen: `${tag}:seen`,
    /** STRING: MessagePack of the window buckets of windowed properties, by storage field. */
    windows: `${tag}:win`,
    /** ZSET: pending offers, score = expiresAt (ms), member = offer id. */
    inbox: `${tag}:inbox`,
    /** HASH: offer id -> JSON of `Offer` (protocol/offer.ts) plus `createdAt` (ms); inbox order is createdAt. */
    offers: `${tag}:offers`,
    /** LIST: latest decisions (compact explanations, offers/engine/explain-codec.ts), newest first, 3 kept, expires 7 days after the latest. */
    decisions: `${tag}:decisions`,
    /** HASH: per-rule limits (cd:<rule> cooldown until, n:<rule> lifetime count, a:<rule> pinned bandit arm), d:<partition> decided marker (offset). */
    limits: `${tag}:limits`,
    /** HASH: edge instance id -> presence expiry (ms). */
    presence: `${tag}:presence`,
    /** HASH: offer id -> JSON lifecycle record of a live offer (responses, revenue, createdAt); the latest 10 of the last 30 days. */
    ledger: `${tag}:ledger`,
    /**
     * HASH: rule id -> `<group>|<until ms>`: the open attribution windows of live rules the player
     * triggered (lift); `<rule id>|<currency>` -> what the player spent in that rule's window;
     * `|@<partition>` -> offset of the latest revenue event attributed. Expires with its last window.
     */
    attribution: `${tag}:attr`,
  };
};

/**
 * Offer keys outside any player's slot. Each rule's budget windows share the tag
 * `{b:<ruleId>}`, each rule's stats the tag `{s:<ruleId>}`. Made once per prefix: the
 * decision path asks for them in every chunk step, and each making allocates the object
 * and its functions (and, under the TypeScript loader, names each function).
 */
export const offerKeys = (prefix: string): OfferKeys => {
  let keys = offerKeysByPrefix.get(prefix);
  if (!keys) {
    // A process uses one prefix, tests and benches a few each: the bound is a safety net.
    if (offerKeysByPrefix.size >= 256) offerKeysByPrefix.clear();
    keys = makeOfferKeys(prefix);
    offerKeysByPrefix.set(prefix, keys);
  }
  return keys;
};

export type OfferKeys = ReturnType<typeof makeOfferKeys>;
const offerKeysByPrefix = new Map<string, OfferKeys>();

const makeOfferKeys = (prefix: string) => ({
  /** SET: offer ids holding a claim on the rule's budget in the window starting at `windowStart` (ms). */
  budget: (ruleId: string, windowStart: number) => `${prefix}:{b:${ruleId}}:budget:${windowStart}`,
  /**
   * HASH: `<variant>|<counter>` -> count (revenue per currency: `<variant>|revenue|<currency>`;
   * attributed spend: `<group>|spend|<currency>`, and its sum over windows of each window's spend
   * squared: `<group>|spendsq|<currency>`; the global holdout's group is `(holdout)`).
   */
  stats: (ruleId: string) => `${prefix}:{s:${ruleId}}:stats`,
  /**
   * HASH: one hour of a rule's funnel, `<variant>|<stage>` -> count for the stages of
   * TIMELINE_STAGES (offers/engine/timeline.ts); `hour` is hours since the epoch by the
   * processing clock at the write. Written in the stats MULTI; expires TIMELINE_TTL_MS after
   * its latest write, by the Redis server's clock.
   */
  statsHour: (ruleId: string, hour: number) => `${prefix}:{s:${ruleId}}:hour:${hour}`,
  /** SET: rule ids that have stats, including rules no longer published. */
  statsRules: `${prefix}:{stats}:rules`,
  /**
   * HyperLogLog: ids of the players a decision found in segment `name` on UTC day `day`
   * (days since the epoch); expires SEGMENT_SIZE_TTL_MS (offers/engine/redis-ops.ts) after
   * its latest write, by the Redis server's clock. Each segment's days share the tag `{g:<name>}`.
   */
  segmentDay: (name: string, day: number) => `${prefix}:{g:${name}}:size:${day}`,
  /** BullMQ `prefix` option: queue keys live under it. */
  bullPrefix: `${prefix}:bull`,
});

/**
 * HASH: processors instance id -> JSON of its latest pulse sample with the one before
 * (processors/pulse.ts): cumulative events applied, decisions and offers, and consumer lag.
 * Rewritten by each instance every PULSE_INTERVAL_MS; the key expires PULSE_STALE_MS after
 * the latest write (Redis server clock), and fields that old are dropped.
 */
export function pulseKey(prefix: string): string {
  return `${prefix}:{pulse}:processors`;
}

/**
 * Sharded pub/sub channel of one edge instance, carrying JSON `{ player, offer }` for the
 * players it holds a socket of (docs/delivery.md).
 */
export function offerChannel(prefix: string, instanceId: string): string {
  return `${prefix}:{edge:${instanceId}}:offers`;
}

/**
 * Redis keys of published bundles. All share the hash tag `{rules}` so one script may
 * touch them on Redis Cluster.
 */
export function bundleKeys(prefix: string) {
  const tag = `${prefix}:{rules}`;
  return {
    /** STRING: last version number handed out. */
    seq: `${tag}:seq`,
    /** STRING: the current version number. */
    current: `${tag}:current`,
    /** ZSET: version numbers kept, score = version. */
    history: `${tag}:history`,
    /** HASH per version: files (JSON), hash, meta (JSON), publishedAt, previous, restores. */
    versionPrefix: `${tag}:v:`,
    version: (n: number) => `${tag}:v:${n}`,
    /** Pub/sub channel: the new current version number after each publish or rollback. */
    channel: `${tag}:changed`,
    /** STREAM: the audit log of publishes, rollbacks and mode changes (designer/audit.ts), one JSON field `e` per entry, trimmed to about AUDIT_MAXLEN. */
    audit: `${tag}:audit`,
  };
}

/**
 * The scratch namespace of one backtest: `<prefix>:bt:<jobId>`, with one sub-namespace per
 * bundle compared (`…:draft`, `…:published`). Every key a backtest writes — player state,
 * decisions, limits, budgets, stats — lives under it; it is deleted when the job ends,
 * whether it succeeded or failed.
 */
export function scratchPrefix(prefix: string, jobId: string): string {
  return `${prefix}:bt:${jobId}`;
}
