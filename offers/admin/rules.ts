import { ERRORS, PlayPulseError, type ErrorCode } from '../../lib/errors.ts';
import { compileBundle } from '../../designer/compile.ts';
import { diffBundles, formatBundleDiff } from '../../designer/diff.ts';
import type { BundleStore } from '../../designer/store.ts';
import type { Schedule } from '../../designer/schedule.ts';
import type { Bundle, Diagnostic, ShapedSpec } from '../../designer/types.ts';

const clock = (min: number) => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A rule's schedule as the admin API shows it, with whether it holds at `now` (the server's clock: for display only; in `timeZone`, also for a rule with `playerTimeZone`). */
export function scheduleView(schedule: Schedule, now: number) {
  const { start, end, timeZone, weekly, playerTimeZone } = schedule.spec;
  const state = schedule.at(now);
  return {
    start: isoOrNull(start),
    end: isoOrNull(end),
    timeZone,
    playerTimeZone: playerTimeZone ?? null,
    weekly: weekly?.map((w) => ({ days: [...w.days], from: clock(w.fromMin), to: clock(w.toMin) })) ?? null,
    activeNow: state.active,
    nextStart: isoOrNull(state.nextStart),
  };
}

/** A rule's offer fields computed per player: the expression (or title template), its bounds and its default. */
export function shapedView(specs: readonly ShapedSpec[] | undefined) {
  return (specs ?? []).map((s) => ({ field: s.field, expr: s.source, ...(s.bounds ? { min: s.bounds.min, max: s.bounds.max, round: s.bounds.round } : {}), default: s.fallback }));
}

/** The published bundle as `GET /v1/rules` serves it; `now` only says whether each schedule holds now. */
export function publishedView(bundle: Bundle, now: number = Date.now()) {
  return {
    version: bundle.version,
    hash: bundle.hash,
    files: bundle.files,
    rules: bundle.rules.map((r) => ({
      id: r.id,
      file: r.file,
      enabled: r.enabled,
      mode: r.mode,
      priority: r.priority,
      trigger: { event: r.trigger.event, when: r.trigger.when?.source ?? null, followUpOnly: r.followUpOnly ?? false },
      schedule: r.schedule ? scheduleView(r.schedule, now) : null,
      shaped: shapedView(r.offer.shaped),
    })),
  };
}

export function validateFiles(files: Record<string, string>) {
  const res = compileBundle(files);
  return res.ok ? { ok: true, diagnostics: res.warnings } : { ok: false, diagnostics: res.diagnostics };
}

/** The refusal of a bad bundle: 422 with the code of its first error and every diagnostic in `details`. */
export function refusal(diagnostics: readonly Diagnostic[], what: string): PlayPulseError {
  const first = diagnostics.find((d) => d.severity === 'error') ?? diagnostics[0];
  const code: ErrorCode = first && first.code in ERRORS && first.code.startsWith('RULE_') ? (first.code as ErrorCode) : 'RULE_SCHEMA';
  const where = first ? `: ${first.file}:${first.line}:${first.column}: ${first.message}` : '';
  return new PlayPulseError(code, `${what}${where}`, { diagnostics });
}

/** Validates, then publishes; a bad bundle is refused with its diagnostics and changes nothing. */
export async function publishFiles(store: BundleStore, files: Record<string, string>, message: string | undefined, author?: string) {
  const checked = compileBundle(files);
  if (!checked.ok) throw refusal(checked.diagnostics, 'the bundle was refused; the published version is unchanged');
  const res = await store.publish(files, { source: 'api', ...(author ? { author } : {}), ...(message ? { message } : {}) });
  if (!res.ok) throw refusal(res.diagnostics, 'the bundle was refused; the published version is unchanged');
  return { version: res.version, hash: checked.bundle.hash, warnings: checked.warnings };
}

export async function rollbackRules(store: BundleStore, author?: string) {
  const res = await store.rollback({ source: 'api', ...(author ? { author } : {}) });
  if (!res.ok) throw refusal(res.diagnostics, 'rollback refused; the published version is unchanged');
  return { version: res.version, restored: res.restored };
}

/** What publishing `files` would change against the published version. */
export function diffAgainstPublished(store: BundleStore, files: Record<string, string>) {
  const d = diffBundles(store.current().files, files);
  return { from: store.current().version, ...d, text: formatBundleDiff(d) };
}

/** What changed between two stored versions. */
export async function diffVersions(store: BundleStore, from: number, to: number) {
  const [a, b] = await Promise.all([store.get(from), store.get(to)]);
  if (!a) throw new PlayPulseError('ADMIN_NOT_FOUND', `version ${from} is unknown or pruned`, { version: from });
  if (!b) throw new PlayPulseError('ADMIN_NOT_FOUND', `version ${to} is unknown or pruned`, { version: to });
  const d = diffBundles(a.files, b.files);
  return { from, to, ...d, text: formatBundleDiff(d) };
}
