import { PlayPulseError, errorMessage } from '../lib/errors.ts';
import { createLogger } from '../lib/log.ts';
import type { RedisClient } from '../lib/redis.ts';
import { compileBundle } from './compile.ts';
import { readBundleDir } from './load.ts';
import type { Bundle, BundleSource, Diagnostic } from './types.ts';
import { BundleVersions, type PublishMeta, type PublishResult, type RollbackResult, type StoredVersion, type VersionInfo } from './versions.ts';

export { staticBundleSource } from './static-source.ts';
export { BundleVersions, KEEP_VERSIONS, type PublishMeta, type PublishResult, type RollbackResult, type StoredVersion, type VersionInfo } from './versions.ts';

const log = createLogger('bundles');

/**
 * The current designer bundle, compiled in memory, following the published versions in
 * Redis: a BundleSource for every role. A publish or rollback (one Lua script: the switch
 * is atomic) is announced on a pub/sub channel; each store also polls the current version
 * number every `pollMs` (default 500), so every store in every process sees a new version
 * within a second even if a notification is lost. A bundle that does not compile changes
 * nothing. Versions only grow (a rollback is recorded as a new version), and a store never
 * moves to a lower version than it holds.
 *
 * `close()` stops polling and the subscription; the Redis client passed in stays open (its
 * owner closes it).
 */
export class BundleStore implements BundleSource {
  private bundle: Bundle;
  private readonly listeners = new Set<(b: Bundle) => void>();
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  private closed = false;
  /** A published version that did not compile here; not retried on every poll. */
  private failedVersion = 0;

  private constructor(
    private readonly versions: BundleVersions,
    private readonly sub: RedisClient,
    initial: Bundle,
  ) {
    this.bundle = initial;
  }

  /**
   * Loads the current published version. With none published and `fallbackDir` given,
   * publishes that folder first (as version 1 on a fresh prefix; of several processes
   * starting at once, one publishes and the others load it). Rejects with RULE_NO_VERSION
   * when nothing is published and there is no fallback, and with a RULE_* error carrying
   * `details.diagnostics` when the fallback folder does not compile.
   */
  static async open(redis: RedisClient, keyPrefix: string, opts: { fallbackDir?: string; pollMs?: number } = {}): Promise<BundleStore> {
    const versions = new BundleVersions(redis, keyPrefix);
    let current = await versions.currentVersion();
    if (!current && opts.fallbackDir) {
      const res = await versions.publish(readBundleDir(opts.fallbackDir), { source: 'fallback' }, true);
      if (!res.ok) {
        const first = res.diagnostics[0];
        const code = first?.code === 'RULE_YAML' || first?.code === 'RULE_TYPE_ERROR' || first?.code === 'RULE_REFERENCE' || first?.code === 'RULE_CONFLICT' ? first.code : 'RULE_SCHEMA';
        throw new PlayPulseError(
          code,
          `the rules folder ${opts.fallbackDir} does not compile${first ? `: ${first.file}:${first.line}:${first.column}: ${first.message}` : ''}`,
          { diagnostics: res.diagnostics },
        );
      }
      current = res.version;
      if (res.bundle) log.info({ version: current, dir: opts.fallbackDir }, 'published the rules folder as the first version');
    }
    if (!current) throw new PlayPulseError('RULE_NO_VERSION', 'no designer bundle is published yet; publish one with `npm run rules -- publish <dir>`');
    const stored = await versions.get(current);
    if (!stored) throw new PlayPulseError('RULE_NO_VERSION', `published version ${current} is missing from Redis`);
    const compiled = compileBundle(stored.files, { version: current });
    if (!compiled.ok) {
      throw new PlayPulseError('RULE_SCHEMA', `published version ${current} does not compile; publish a fixed bundle`, { diagnostics: compiled.diagnostics });
    }
    const sub = redis.duplicate();
    sub.on('error', (err: Error) => log.warn({ err: err.message }, 'bundle subscription error'));
    const store = new BundleStore(versions, sub, compiled.bundle);
    sub.on('message', (channel: string) => {
      if (channel === versions.keys.channel) store.refresh();
    });
    await sub.subscribe(versions.keys.channel);
    store.timer = setInterval(() => store.refresh(), opts.pollMs ?? 500);
    store.timer.unref();
    return store;
  }

  current(): Bundle {
    return this.bundle;
  }

  onChange(listener: (bundle: Bundle) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Validates, then publishes `files` as a new version and switches to it; a bad bundle changes nothing. */
  async publish(files: Record<string, string>, meta: PublishMeta = {}): Promise<PublishResult> {
    const res = await this.versions.publish(files, meta);
    if (!res.ok) return { ok: false, diagnostics: res.diagnostics };
    if (res.bundle) this.swap(res.bundle);
    log.info({ version: res.version, source: meta.source }, 'bundle published');
    return { ok: true, version: res.version };
  }

  /**
   * Back to the version that was current before the current one, recorded as a new
   * version. Throws RULE_NO_VERSION when there is none; returns diagnostics (and changes
   * nothing) when that version no longer compiles.
   */
  async rollback(meta: PublishMeta = {}): Promise<RollbackResult> {
    const res = await this.versions.rollback(meta);
    if (!res.ok) return res;
    this.swap(res.bundle);
    log.info({ version: res.version, restored: res.restored }, 'bundle rolled back');
    return { ok: true, version: res.version, restored: res.restored };
  }

  /** Newest first, at most `limit`. */
  history(limit = 50): Promise<VersionInfo[]> {
    return this.versions.history(limit);
  }

  /** One stored version with its files, or null when unknown or pruned. */
  get(version: number): Promise<StoredVersion | null> {
    return this.versions.get(version);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.listeners.clear();
    await this.refreshing;
    this.sub.disconnect();
  }

  /** Single flight: a refresh asked for while one runs runs once more after it. */
  private refresh(): void {
    if (this.closed) return;
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = this.load()
      .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'bundle refresh failed'))
      .finally(() => {
        this.refreshing = null;
        if (this.refreshAgain) {
          this.refreshAgain = false;
          this.refresh();
        }
      });
  }

  private async load(): Promise<void> {
    const current = await this.versions.currentVersion();
    if (!current || current <= this.bundle.version || current === this.failedVersion || this.closed) return;
    const stored = await this.versions.get(current);
    if (!stored) return;
    const compiled = compileBundle(stored.files, { version: current });
    if (!compiled.ok) {
      this.failedVersion = current;
      log.error({ version: current, diagnostics: compiled.diagnostics.slice(0, 5) as Diagnostic[] }, 'published version does not compile; keeping the one in use');
      return;
    }
    this.swap(compiled.bundle);
    log.info({ version: current }, 'switched to a new bundle version');
  }

  private swap(bundle: Bundle): void {
    if (this.closed || bundle.version <= this.bundle.version) return;
    this.bundle = bundle;
    for (const listener of this.listeners) {
      try {
        listener(bundle);
      } catch (err) {
        log.error({ err: errorMessage(err) }, 'bundle change listener failed');
      }
    }
  }
}
