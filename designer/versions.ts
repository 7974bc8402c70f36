import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlayPulseError } from '../lib/errors.ts';
import { withScriptsOf } from '../lib/lua.ts';
import type { RedisClient } from '../lib/redis.ts';
import { compileBundle } from './compile.ts';
import { diagnostic } from './diagnostics.ts';
import { bundleKeys } from '../lib/keys.ts';
import type { Bundle, Diagnostic } from './types.ts';

const LUA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'lua');
/** Versions kept in Redis; older ones are deleted on publish. */
export const KEEP_VERSIONS = 200;

/** Free-form facts recorded with a version. */
export interface PublishMeta {
  readonly author?: string;
  readonly message?: string;
  /** Where it came from: `cli`, `api`, `fallback`, `rollback`. */
  readonly source?: string;
}

export type PublishResult = { readonly ok: true; readonly version: number } | { readonly ok: false; readonly diagnostics: Diagnostic[] };
export type RollbackResult =
  | { readonly ok: true; readonly version: number; readonly restored: number }
  | { readonly ok: false; readonly diagnostics: Diagnostic[] };

export interface VersionInfo {
  readonly version: number;
  readonly hash: string;
  readonly publishedAt: number;
  readonly meta: PublishMeta;
  /** The version that was current when this one was published (0: none). */
  readonly previous: number;
  /** For a rollback: the version whose files this one restores (0: not a rollback). */
  readonly restores: number;
  readonly current: boolean;
}

export interface StoredVersion extends VersionInfo {
  readonly files: Record<string, string>;
}

/** The scripts of designer/lua/, as their headers describe them. */
interface VersionCommands {
  bundlePublish(...args: (string | number)[]): Promise<[number, number]>;
  bundleRollback(...args: (string | number)[]): Promise<[number, number, number?]>;
}

type ScriptClient = RedisClient & VersionCommands;

/**
 * The numbered versions of a key prefix in Redis, without any state in memory: what the
 * CLI and BundleStore use. Publish and rollback are one Lua script each, so the switch of
 * the current version is atomic, and each announces the new number on `keys.channel`.
 */
export class BundleVersions {
  readonly keys: ReturnType<typeof bundleKeys>;
  private readonly redis: ScriptClient;

  constructor(redis: RedisClient, keyPrefix: string) {
    this.redis = withScriptsOf<VersionCommands>(redis, LUA_DIR);
    this.keys = bundleKeys(keyPrefix);
  }

  /** The current version number; 0 when nothing is published. */
  async currentVersion(): Promise<number> {
    return Number((await this.redis.get(this.keys.current)) ?? 0);
  }

  /**
   * Validates, then publishes `files` as a new current version. With `onlyIfNone`, publishes
   * only when nothing is published yet and otherwise returns the current version.
   * On success `bundle` is the compiled bundle carrying its version.
   */
  async publish(
    files: Record<string, string>,
    meta: PublishMeta = {},
    onlyIfNone = false,
  ): Promise<{ ok: true; version: number; bundle: Bundle | null } | { ok: false; diagnostics: Diagnostic[] }> {
    const compiled = compileBundle(files);
    if (!compiled.ok) return { ok: false, diagnostics: compiled.diagnostics };
    const [status, version] = await this.redis.bundlePublish(
      this.keys.seq,
      this.keys.current,
      this.keys.history,
      this.keys.versionPrefix,
      JSON.stringify(files),
      compiled.bundle.hash,
      JSON.stringify(meta),
      Date.now(),
      this.keys.channel,
      onlyIfNone ? '1' : '0',
      KEEP_VERSIONS,
    );
    const v = Number(version);
    return { ok: true, version: v, bundle: Number(status) === 1 ? { ...compiled.bundle, version: v } : null };
  }

  /**
   * Back to the version that was current before the current one, recorded as a new
   * version; a second rollback goes one further back. Throws RULE_NO_VERSION when there is
   * none; returns diagnostics (and changes nothing) when that version no longer compiles.
   */
  async rollback(meta: PublishMeta = {}): Promise<{ ok: true; version: number; restored: number; bundle: Bundle } | { ok: false; diagnostics: Diagnostic[] }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.currentVersion();
      const info = current ? await this.get(current) : null;
      const target = info?.previous ? await this.get(info.previous) : null;
      if (!info || !target) throw new PlayPulseError('RULE_NO_VERSION', `there is no version before ${current || 'the current one'} to roll back to`);
      const compiled = compileBundle(target.files);
      if (!compiled.ok) {
        const note = diagnostic('error', 'RULE_CONFLICT', `(version ${target.version})`, { line: 1, column: 1 }, `version ${target.version} no longer compiles; publish a fixed bundle instead`);
        return { ok: false, diagnostics: [note, ...compiled.diagnostics] };
      }
      const [status, version] = await this.redis.bundleRollback(
        this.keys.seq,
        this.keys.current,
        this.keys.history,
        this.keys.versionPrefix,
        String(current),
        JSON.stringify({ source: 'rollback', ...meta }),
        Date.now(),
        this.keys.channel,
      );
      if (Number(status) === 1) {
        const v = Number(version);
        return { ok: true, version: v, restored: target.version, bundle: { ...compiled.bundle, version: v } };
      }
      if (Number(status) === 0) throw new PlayPulseError('RULE_NO_VERSION', `there is no version before ${current} to roll back to`);
    }
    throw new PlayPulseError('RULE_CONFLICT', 'the current version kept changing during rollback; try again');
  }

  /** Newest first, at most `limit`, without files. */
  async history(limit = 50): Promise<VersionInfo[]> {
    const versions = await this.redis.zrevrange(this.keys.history, 0, Math.max(0, limit - 1));
    const current = await this.currentVersion();
    const out: VersionInfo[] = [];
    for (const v of versions) {
      const info = await this.read(Number(v), current, false);
      if (info) out.push(info);
    }
    return out;
  }

  /** One stored version with its files, or null when unknown or pruned. */
  async get(version: number): Promise<StoredVersion | null> {
    return (await this.read(version, await this.currentVersion(), true)) as StoredVersion | null;
  }

  private async read(version: number, current: number, withFiles: boolean): Promise<VersionInfo | StoredVersion | null> {
    const fields = ['hash', 'publishedAt', 'meta', 'previous', 'restores', ...(withFiles ? ['files'] : [])];
    const [hash, publishedAt, meta, previous, restores, files] = await this.redis.hmget(this.keys.version(version), ...fields);
    if (hash === null || hash === undefined) return null;
    const info: VersionInfo = {
      version,
      hash,
      publishedAt: Number(publishedAt ?? 0),
      meta: parseJson(meta, {}) as PublishMeta,
      previous: Number(previous ?? 0),
      restores: Number(restores ?? 0),
      current: version === current,
    };
    return withFiles ? { ...info, files: parseJson(files, {}) as Record<string, string> } : info;
  }
}

function parseJson(text: string | null | undefined, fallback: unknown): unknown {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return fallback;
  }
}
