/**
 * The audit log of the published rules (docs/operations.md "Admin access"): who published,
 * rolled back or changed a rule's mode, when, from which version to which, and what changed.
 * A Redis stream (`bundleKeys(prefix).audit`), appended to and never edited, trimmed to about
 * AUDIT_MAXLEN entries. Written by the admin API and by `npm run rules -- publish|rollback`.
 */
import { bundleKeys } from '../lib/keys.ts';
import type { RedisClient } from '../lib/redis.ts';
import { compileBundle } from './compile.ts';
import { diffBundles, type SemanticSummary } from './diff.ts';
import type { StoredVersion } from './versions.ts';

/** Entries kept, about (XADD MAXLEN ~): the oldest go first. */
export const AUDIT_MAXLEN = 10_000;

export type AuditAction = 'publish' | 'rollback' | 'mode';

/** A rule's state as a mode change sees it: `off` when disabled, else its mode. */
export type RuleState = 'live' | 'shadow' | 'off';

export interface ModeChange {
  readonly rule: string;
  readonly from: RuleState;
  readonly to: RuleState;
}

/** Who made a change: an admin token's name and role, or the CLI's author. */
export interface AuditActor {
  readonly who: string;
  /** The admin token's role; null for the CLI. */
  readonly role: string | null;
  /** `api` (admin API) or `cli`. */
  readonly via: 'api' | 'cli';
}

export interface AuditEntry extends AuditActor {
  /** The stream entry id (`<ms>-<seq>`), unique and increasing. */
  readonly id: string;
  /** When, ms since the Unix epoch (the server's clock). */
  readonly at: number;
  readonly action: AuditAction;
  /** The version that was current before (0: none). */
  readonly from: number;
  /** The version current after. */
  readonly to: number;
  /** For a rollback: the version whose files are live again. */
  readonly restored: number | null;
  readonly message: string | null;
  /** What changed from `from` to `to`, by rule, property and event. */
  readonly summary: SemanticSummary;
  /** Files added, removed or changed. */
  readonly files: readonly { readonly name: string; readonly status: string }[];
  /** Rules whose mode (live, shadow, off) changed; the `mode` entry lists only these. */
  readonly modes: readonly ModeChange[];
}

/** What the audit log needs of the version store: one stored version with its files. */
export interface VersionReader {
  get(version: number): Promise<StoredVersion | null>;
}

/** A change to record: the version it made current and, for a rollback, the one it replaced. */
export interface VersionChange {
  readonly action: 'publish' | 'rollback';
  readonly version: number;
  /**
   * The version current before. A publish records it with the version (null: read it from
   * there); a rollback does not (its `previous` is the restored version's), so its caller
   * passes the version it saw current.
   */
  readonly from: number | null;
  readonly message: string | null;
}

/**
 * Appends the entry of a publish or rollback, and a `mode` entry when it changed some rule's
 * mode. Returns what it wrote.
 */
export async function recordVersionChange(
  redis: RedisClient,
  prefix: string,
  versions: VersionReader,
  actor: AuditActor,
  change: VersionChange,
): Promise<AuditEntry[]> {
  const { action, version, message } = change;
  const after = await versions.get(version);
  const previous = change.from ?? after?.previous ?? 0;
  const before = previous > 0 ? await versions.get(previous) : null;
  const oldFiles = before?.files ?? {};
  const newFiles = after?.files ?? {};
  const d = diffBundles(oldFiles, newFiles);
  const base = {
    ...actor,
    at: Date.now(),
    from: previous,
    to: version,
    restored: action === 'rollback' && after && after.restores > 0 ? after.restores : null,
    message,
    summary: d.summary,
    files: d.files.map((f) => ({ name: f.name, status: f.status })),
    modes: modeChanges(oldFiles, newFiles),
  };
  const entries: Omit<AuditEntry, 'id'>[] = [{ ...base, action }];
  if (base.modes.length > 0) entries.push({ ...base, action: 'mode' });
  const key = bundleKeys(prefix).audit;
  const pipe = redis.multi();
  for (const e of entries) pipe.xadd(key, 'MAXLEN', '~', String(AUDIT_MAXLEN), '*', 'e', JSON.stringify(e));
  const res = await pipe.exec();
  return entries.map((e, i) => ({ ...e, id: String(res?.[i]?.[1] ?? '') }));
}

/** The newest `limit` entries, newest first; an entry that does not parse is skipped. */
export async function readAudit(redis: RedisClient, prefix: string, limit: number): Promise<AuditEntry[]> {
  const rows = await redis.xrevrange(bundleKeys(prefix).audit, '+', '-', 'COUNT', limit);
  const out: AuditEntry[] = [];
  for (const [id, fields] of rows) {
    const i = fields.indexOf('e');
    if (i < 0 || i + 1 >= fields.length) continue;
    try {
      out.push({ ...(JSON.parse(fields[i + 1] as string) as Omit<AuditEntry, 'id'>), id });
    } catch {
      // an entry written by something else is not ours to show
    }
  }
  return out;
}

/** Rules in both bundles whose state (live, shadow, off) differs; a bundle that no longer compiles has none. */
export function modeChanges(oldFiles: Readonly<Record<string, string>>, newFiles: Readonly<Record<string, string>>): ModeChange[] {
  const a = ruleStates(oldFiles);
  const b = ruleStates(newFiles);
  const out: ModeChange[] = [];
  for (const [rule, to] of b) {
    const from = a.get(rule);
    if (from !== undefined && from !== to) out.push({ rule, from, to });
  }
  return out.sort((x, y) => (x.rule < y.rule ? -1 : x.rule > y.rule ? 1 : 0));
}

function ruleStates(files: Readonly<Record<string, string>>): Map<string, RuleState> {
  const states = new Map<string, RuleState>();
  if (Object.keys(files).length === 0) return states;
  const res = compileBundle(files);
  if (!res.ok) return states;
  for (const r of res.bundle.rules) states.set(r.id, r.enabled ? r.mode : 'off');
  return states;
}
