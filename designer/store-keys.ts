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
  };
}
