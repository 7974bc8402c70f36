/**
 * `npm run rules -- <command>`: the designer's command line (docs/designers.md).
 *
 *   validate <dir>    check a folder of designer files; exit 1 on errors
 *   publish <dir>     validate, then publish it as a new version
 *   rollback          back to the version before the current one
 *   diff <dir>        what publishing the folder would change
 *   history           the published versions, newest first
 *   backtest <dir> --from <time> [--to <time>]
 *                     replay retained events through the folder and the published version
 *   schemas           write offers/schemas/*.schema.json (--check: only compare)
 *
 * Commands that need Redis read REDIS_URL (redis://127.0.0.1:6379 when unset) and
 * PLAYPULSE_KEY_PREFIX through loadConfig(). Diagnostics print as
 * `file:line:col: error CODE message (hint)`. Exit codes: 0 ok, 1 refused or failed, 2 usage.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from '../lib/config.ts';
import { isPlayPulseError, errorMessage } from '../lib/errors.ts';
import { assertRedisReachable, createRedis, type RedisClient } from '../lib/redis.ts';
import { compileBundle } from '../designer/compile.ts';
import { formatDiagnostic } from '../designer/diagnostics.ts';
import { diffBundles, formatBundleDiff } from '../designer/diff.ts';
import { loadBundleDir } from '../designer/load.ts';
import { FILE_KINDS, jsonSchemaText, type FileKind } from '../designer/schemas.ts';
import { writeJsonSchemas } from '../designer/write-schemas.ts';
import { BundleVersions } from '../designer/versions.ts';
import { recordVersionChange, type VersionChange } from '../designer/audit.ts';
import type { Diagnostic } from '../designer/types.ts';
import { backtestCommand } from '../offers/backtest/cli.ts';

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const SCHEMAS_DIR = 'offers/schemas';

interface CommandContext {
  readonly positionals: readonly string[];
  readonly flags: Readonly<Record<string, string | boolean | undefined>>;
  readonly config: Config;
  out(text: string): void;
  err(text: string): void;
  /** The published versions in Redis; connects on first use, closed when the command ends. */
  versions(): Promise<BundleVersions>;
  /** Appends the audit entries (designer/audit.ts) of a change this command made; a failed write is reported, not fatal. */
  audit(change: VersionChange, author: string): Promise<void>;
}

interface Command {
  readonly usage: string;
  readonly summary: string;
  readonly options?: ParseArgsConfig['options'];
  /** Positional arguments it takes (exactly). */
  readonly args: number;
  run(ctx: CommandContext): Promise<number>;
}

/** The command table; a new command is one more entry. */
const COMMANDS: Record<string, Command> = {
  validate: {
    usage: 'validate <dir>',
    summary: 'check a folder of designer files (exit 1 on errors)',
    args: 1,
    async run(ctx) {
      const dir = ctx.positionals[0] as string;
      const { ok, diagnostics, summary } = check(dir);
      printDiagnostics(ctx, dir, diagnostics);
      ctx.out(`${ok ? 'valid' : 'invalid'}: ${summary}\n`);
      return ok ? 0 : 1;
    },
  },
  publish: {
    usage: 'publish <dir> [--message <text>] [--author <name>]',
    summary: 'validate, then publish the folder as a new version',
    args: 1,
    options: { message: { type: 'string', short: 'm' }, author: { type: 'string' } },
    async run(ctx) {
      const dir = ctx.positionals[0] as string;
      const loaded = loadBundleDir(dir);
      if (loaded.diagnostics.length > 0) {
        printDiagnostics(ctx, dir, loaded.diagnostics);
        ctx.err('refused: nothing was published\n');
        return 1;
      }
      const compiled = compileBundle(loaded.files);
      printDiagnostics(ctx, dir, compiled.ok ? compiled.warnings : compiled.diagnostics);
      if (!compiled.ok) {
        ctx.err('refused: nothing was published; the current version is unchanged\n');
        return 1;
      }
      const versions = await ctx.versions();
      const meta = { source: 'cli', author: str(ctx.flags.author) ?? process.env.USER ?? 'unknown', ...(str(ctx.flags.message) ? { message: str(ctx.flags.message) } : {}) };
      const res = await versions.publish(loaded.files, meta);
      if (!res.ok) {
        printDiagnostics(ctx, dir, res.diagnostics);
        ctx.err('refused: nothing was published; the current version is unchanged\n');
        return 1;
      }
      await ctx.audit({ action: 'publish', version: res.version, from: null, message: meta.message ?? null }, meta.author);
      ctx.out(`published version ${res.version} (${Object.keys(loaded.files).length} files)\n`);
      return 0;
    },
  },
  rollback: {
    usage: 'rollback',
    summary: 'back to the version before the current one (recorded as a new version)',
    args: 0,
    async run(ctx) {
      const versions = await ctx.versions();
      const author = process.env.USER ?? 'unknown';
      const from = await versions.currentVersion();
      const res = await versions.rollback({ source: 'cli', author });
      if (!res.ok) {
        printDiagnostics(ctx, '', res.diagnostics);
        ctx.err('refused: the current version is unchanged\n');
        return 1;
      }
      await ctx.audit({ action: 'rollback', version: res.version, from, message: null }, author);
      ctx.out(`rolled back: version ${res.version} restores version ${res.restored}\n`);
      return 0;
    },
  },
  diff: {
    usage: 'diff <dir>',
    summary: 'what publishing the folder would change against the published version',
    args: 1,
    async run(ctx) {
      const dir = ctx.positionals[0] as string;
      const loaded = loadBundleDir(dir);
      printDiagnostics(ctx, dir, loaded.diagnostics);
      const versions = await ctx.versions();
      const current = await versions.currentVersion();
      const published = current ? await versions.get(current) : null;
      ctx.out(`comparing ${dir} with ${published ? `published version ${current}` : 'nothing (no version is published)'}\n`);
      ctx.out(formatBundleDiff(diffBundles(published?.files ?? {}, loaded.files)));
      return 0;
    },
  },
  history: {
    usage: 'history [--limit <n>]',
    summary: 'the published versions, newest first',
    args: 0,
    options: { limit: { type: 'string', default: '20' } },
    async run(ctx) {
      const limit = Number(ctx.flags.limit);
      if (!Number.isInteger(limit) || limit < 1) {
        ctx.err('--limit must be a positive whole number\n');
        return 2;
      }
      const versions = await ctx.versions();
      const list = await versions.history(limit);
      if (list.length === 0) ctx.out('no version is published\n');
      for (const v of list) {
        const what = v.restores ? `rollback to ${v.restores}` : v.meta.message ?? '';
        ctx.out(
          `${v.current ? '*' : ' '} ${String(v.version).padStart(4)}  ${new Date(v.publishedAt).toISOString()}  ${v.hash.slice(0, 12)}  ${(v.meta.source ?? '').padEnd(8)} ${(v.meta.author ?? '').padEnd(12)} ${what}\n`,
        );
      }
      return 0;
    },
  },
  backtest: backtestCommand,
  schemas: {
    usage: 'schemas [--check]',
    summary: `write ${SCHEMAS_DIR}/*.schema.json from the compiler's schemas (--check: only compare)`,
    args: 0,
    options: { check: { type: 'boolean', default: false } },
    async run(ctx) {
      if (!ctx.flags.check) {
        for (const path of writeJsonSchemas(SCHEMAS_DIR)) ctx.out(`wrote ${path}\n`);
        return 0;
      }
      const stale = (Object.keys(FILE_KINDS) as FileKind[]).filter((kind) => {
        try {
          return readFileSync(join(SCHEMAS_DIR, `${kind}.schema.json`), 'utf8') !== jsonSchemaText(kind);
        } catch {
          return true;
        }
      });
      for (const kind of stale) ctx.err(`${SCHEMAS_DIR}/${kind}.schema.json is out of date; run \`npm run rules -- schemas\`\n`);
      return stale.length ? 1 : 0;
    },
  },
};

function check(dir: string): { ok: boolean; diagnostics: Diagnostic[]; summary: string } {
  const loaded = loadBundleDir(dir);
  if (loaded.diagnostics.length > 0) return { ok: false, diagnostics: loaded.diagnostics, summary: 'the folder was not read' };
  const res = compileBundle(loaded.files);
  const diagnostics = res.ok ? res.warnings : res.diagnostics;
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const counts = res.ok ? `; ${res.bundle.rules.length} rules, ${res.bundle.segments.all.length} segments, ${res.bundle.properties.length} properties, ${res.bundle.events.size} events` : '';
  return { ok: res.ok, diagnostics, summary: `${errors} errors, ${warnings} warnings${counts}` };
}

function printDiagnostics(ctx: CommandContext, dir: string, list: readonly Diagnostic[]): void {
  for (const d of list) {
    const file = d.file && dir && !d.file.startsWith(dir) ? join(dir, d.file) : d.file;
    ctx.err(`${formatDiagnostic({ ...d, file: file || '(bundle)' })}\n`);
  }
}

function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function usage(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  const lines = Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`);
  return `usage: npm run rules -- <command>\n${lines.join('\n')}\n\nRedis: REDIS_URL (default ${DEFAULT_REDIS_URL}), keys under PLAYPULSE_KEY_PREFIX.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(name && name !== 'help' && name !== '--help' ? `unknown command "${name}"\n${usage()}` : usage());
    return name && name !== 'help' && name !== '--help' ? 2 : 0;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: command.options ?? {}, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\nusage: npm run rules -- ${command.usage}\n`);
    return 2;
  }
  if (parsed.positionals.length !== command.args) {
    process.stderr.write(`usage: npm run rules -- ${command.usage}\n`);
    return 2;
  }
  const config = loadConfig();
  let redis: RedisClient | null = null;
  let versions: BundleVersions | null = null;
  const ctx: CommandContext = {
    positionals: parsed.positionals,
    flags: parsed.values as Record<string, string | boolean | undefined>,
    config,
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    async versions() {
      const url = config.redisUrl ?? DEFAULT_REDIS_URL;
      if (!redis) {
        await assertRedisReachable(url, 3_000);
        redis = createRedis(url, 'rules-cli', { maxRetriesPerRequest: 2 });
        redis.on('error', () => undefined);
      }
      versions ??= new BundleVersions(redis, config.keyPrefix);
      return versions;
    },
    async audit(change, author) {
      const store = await ctx.versions();
      try {
        await recordVersionChange(redis as RedisClient, config.keyPrefix, store, { who: author, role: null, via: 'cli' }, change);
      } catch (err) {
        ctx.err(`warning: the audit entry of version ${change.version} could not be written: ${errorMessage(err)}\n`);
      }
    },
  };
  try {
    return await command.run(ctx);
  } finally {
    (redis as RedisClient | null)?.disconnect();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const details = isPlayPulseError(err) ? (err.details?.diagnostics as Diagnostic[] | undefined) : undefined;
    for (const d of details ?? []) process.stderr.write(`${formatDiagnostic(d)}\n`);
    process.stderr.write(`rules: ${isPlayPulseError(err) ? `${err.code} ${err.message}` : errorMessage(err)}\n`);
    process.exit(1);
  },
);
