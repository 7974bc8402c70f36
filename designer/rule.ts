import type { ConditionCache, SegmentScope } from './cel.ts';
import { compileCondition } from './cel.ts';
import { conditionDiagnostics } from './condition-diagnostics.ts';
import { ISO_4217 } from './currencies.ts';
import { diagnostic } from './diagnostics.ts';
import { formatDuration, parseDuration } from './duration.ts';
import { toOffer, toOverride, type OfferFieldsContext } from './offer-fields.ts';
import { isTimeZone, parseClock, Schedule, WEEKDAYS, type WeeklyWindow } from './schedule.ts';
import type { RuleFile } from './schemas.ts';
import { didYouMean } from './suggest.ts';
import type { Bandit, Condition, Diagnostic, EventSpec, Rule, RuleOffer, ValueType, Variant } from './types.ts';
import type { PathSegment, YamlFile } from './yaml-doc.ts';

export interface RuleScope {
  readonly events: ReadonlyMap<string, EventSpec>;
  /** `player` fields and types: built-ins and every property. */
  readonly player: ReadonlyMap<string, ValueType>;
  /** `segment.<name>`: the segments of segments.yaml. */
  readonly segments: SegmentScope;
  readonly cache: ConditionCache;
}

/** Compiles one schema-valid rule file; checks that need other rules live in checks.ts. */
export function compileRule(yaml: YamlFile, file: RuleFile, scope: RuleScope): { rule: Rule | null; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const err = (path: PathSegment[], code: Parameters<typeof diagnostic>[1], message: string, hint?: string) =>
    diagnostics.push(diagnostic('error', code, yaml.file, yaml.at(path), message, hint));
  const warn = (path: PathSegment[], code: Parameters<typeof diagnostic>[1], message: string, hint?: string) =>
    diagnostics.push(diagnostic('warning', code, yaml.file, yaml.at(path), message, hint));

  const event = scope.events.get(file.trigger.event);
  let when: Condition | null = null;
  if (!event) {
    err(['trigger', 'event'], 'RULE_REFERENCE', `trigger event \`${file.trigger.event}\` is not declared in events.yaml`, didYouMean(file.trigger.event, scope.events.keys()) ?? 'declare it in events.yaml');
  } else if (file.trigger.when !== undefined) {
    const compiled = compileCondition(file.trigger.when, { event, player: scope.player, segments: scope.segments }, scope.cache);
    if (compiled.ok) when = compiled.condition;
    else diagnostics.push(...conditionDiagnostics(yaml, ['trigger', 'when'], compiled.problems));
  }

  checkCurrency(file.offer.price.currency, ['offer', 'price', 'currency'], err);
  const fields: OfferFieldsContext = { yaml, scope: event ? { event, player: scope.player, segments: scope.segments } : null, cache: scope.cache, diagnostics };
  const offer = toOffer(file.offer, fields);

  const cooldownMs = file.limits?.cooldown !== undefined ? parseDuration(file.limits.cooldown) : null;
  if (offer.ttlMs <= 0) err(['offer', 'ttl'], 'RULE_SCHEMA', '`offer.ttl` must be longer than 0', 'e.g. 15m');
  if (cooldownMs !== null && offer.ttlMs > cooldownMs) {
    warn(
      ['offer', 'ttl'],
      'RULE_CONFLICT',
      `offer ttl ${file.offer.ttl} is longer than the cooldown ${file.limits?.cooldown}: a player may hold two live offers of this rule`,
      `make the ttl at most ${formatDuration(cooldownMs)} or the cooldown longer`,
    );
  }

  let variants: Variant[] | null = null;
  if (file.experiment) {
    variants = [];
    const seen = new Set<string>();
    file.experiment.variants.forEach((v, i) => {
      if (seen.has(v.name)) err(['experiment', 'variants', i, 'name'], 'RULE_CONFLICT', `variant name \`${v.name}\` is used twice`, 'variant names must be unique in a rule');
      seen.add(v.name);
      if (v.offer?.price) checkCurrency(v.offer.price.currency, ['experiment', 'variants', i, 'offer', 'price', 'currency'], err);
      variants?.push({ name: v.name, weight: v.weight, holdout: v.holdout ?? false, offer: v.offer ? toOverride(v.offer, i, offer, fields) : {} });
    });
    const total = file.experiment.variants.reduce((s, v) => s + v.weight, 0);
    if (!(total > 0)) err(['experiment', 'variants'], 'RULE_SCHEMA', 'experiment weights add up to 0; at least one variant needs a weight above 0', 'e.g. `{ name: a, weight: 90 }`');
    else if (file.experiment.variants.every((v) => v.holdout || v.weight === 0)) {
      warn(['experiment', 'variants'], 'RULE_CONFLICT', 'every weighted variant is a holdout: this rule never makes an offer');
    }
  }
  const bandit = file.experiment ? compileBandit(file.experiment, offer, err) : null;

  const followUp = file.followUp
    ? { afterMs: parseDuration(file.followUp.after) ?? 0, unless: file.followUp.unless ?? 'offer.purchased', rule: file.followUp.rule }
    : null;
  if (followUp && followUp.afterMs <= 0) err(['followUp', 'after'], 'RULE_SCHEMA', '`followUp.after` must be longer than 0', 'e.g. 10m');

  const schedule = file.schedule ? compileSchedule(file.schedule, scope.player, err) : null;

  if (diagnostics.some((d) => d.severity === 'error')) return { rule: null, diagnostics };
  const rule: Rule = {
    id: file.id,
    file: yaml.file,
    description: file.description ?? '',
    enabled: file.enabled ?? true,
    mode: file.mode ?? 'live',
    priority: file.priority ?? 0,
    trigger: { event: file.trigger.event, when },
    offer,
    limits: {
      cooldownMs,
      maxPerPlayer: file.limits?.maxPerPlayer ?? null,
      budget: file.limits?.budget ? { count: file.limits.budget.count, per: file.limits.budget.per } : null,
    },
    experiment: variants ? { variants, ...(bandit ? { bandit } : {}) } : null,
    followUp,
    followUpOnly: file.trigger.followUpOnly ?? false,
    ...(schedule ? { schedule } : {}),
  };
  return { rule, diagnostics };
}

type ExperimentInput = NonNullable<RuleFile['experiment']>;

/** `allocation: bandit` and its settings, or null (weights) with its errors reported. */
function compileBandit(x: ExperimentInput, offer: RuleOffer, err: Err): Bandit | null {
  if (x.allocation !== 'bandit') {
    if (x.bandit) err(['experiment', 'bandit'], 'RULE_SCHEMA', '`experiment.bandit` is set but `allocation` is not `bandit`', 'add `allocation: bandit` to the experiment, or remove `bandit:`');
    return null;
  }
  const arms = x.variants.map((v, i) => ({ v, i })).filter(({ v }) => !v.holdout);
  if (arms.length < 2) {
    err(['experiment', 'allocation'], 'RULE_SCHEMA', `a bandit needs at least 2 arms that are not holdouts; this experiment has ${arms.length}`, 'add another variant, e.g. `{ name: b, weight: 50, offer: { discountPct: 30 } }`');
  }
  for (const { v, i } of arms) {
    if (v.weight === 0) {
      err(['experiment', 'variants', i, 'weight'], 'RULE_SCHEMA', `bandit arm \`${v.name}\` has weight 0: it would never make its warm-up offers`, 'give it a weight above 0: the weights set the shares during warm-up');
    }
  }
  const bandit: Bandit = { objective: x.bandit?.objective ?? 'purchase_rate', minShare: x.bandit?.minShare ?? BANDIT_MIN_SHARE, warmup: x.bandit?.warmup ?? BANDIT_WARMUP };
  if (arms.length >= 2 && bandit.minShare * arms.length > 1) {
    err(
      ['experiment', 'bandit', 'minShare'],
      'RULE_SCHEMA',
      `\`minShare\` ${bandit.minShare} for each of ${arms.length} arms adds up to more than 1`,
      `make it at most ${Math.floor((1 / arms.length) * 100) / 100}`,
    );
  }
  if (bandit.objective === 'revenue') {
    for (const { v, i } of arms) {
      const currency = v.offer?.price?.currency;
      if (currency !== undefined && currency !== offer.price.currency) {
        err(
          ['experiment', 'variants', i, 'offer', 'price', 'currency'],
          'RULE_CONFLICT',
          `bandit arm \`${v.name}\` is priced in ${currency} but the offer in ${offer.price.currency}: revenue of arms in different currencies cannot be compared`,
          `price every arm in ${offer.price.currency}, or use \`objective: purchase_rate\``,
        );
      }
    }
  }
  return bandit;
}

/** Defaults of `experiment.bandit` (docs/designers.md, "Self-optimizing variants"). */
export const BANDIT_MIN_SHARE = 0.05;
export const BANDIT_WARMUP = 100;

type ScheduleInput = NonNullable<RuleFile['schedule']>;
type Err = (p: PathSegment[], c: 'RULE_SCHEMA' | 'RULE_REFERENCE' | 'RULE_CONFLICT' | 'RULE_TYPE_ERROR', m: string, h?: string) => void;

let zoneNames: readonly string[] | null = null;
const knownZones = (): readonly string[] => (zoneNames ??= [...Intl.supportedValuesOf('timeZone'), 'UTC']);

/** The schedule of a schema-valid rule file, or null with its errors reported (designer/schedule.ts). */
function compileSchedule(s: ScheduleInput, player: ReadonlyMap<string, ValueType>, err: Err): Schedule | null {
  const errors: string[] = [];
  const fail: Err = (p, c, m, h) => {
    errors.push(m);
    err(p, c, m, h);
  };
  const instant = (key: 'start' | 'end'): number | null => {
    const text = s[key];
    if (text === undefined) return null;
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) fail(['schedule', key], 'RULE_SCHEMA', `\`schedule.${key}\` is not a real instant: ${text}`, 'check the month, day and hour');
    return Number.isNaN(ms) ? null : ms;
  };
  const start = instant('start');
  const end = instant('end');
  if (start !== null && end !== null && end <= start) {
    fail(['schedule', 'end'], 'RULE_SCHEMA', `\`schedule.end\` ${s.end} is not after \`schedule.start\` ${s.start ?? ''}: the rule would never apply`, 'make end later than start');
  }
  const timeZone = s.timeZone ?? 'UTC';
  if (!isTimeZone(timeZone)) {
    fail(['schedule', 'timeZone'], 'RULE_REFERENCE', `unknown time zone \`${timeZone}\``, didYouMean(timeZone, knownZones()) ?? 'use an IANA time zone name such as Europe/Berlin, America/New_York or UTC');
  }
  const playerTimeZone = s.playerTimeZone ?? null;
  if (playerTimeZone !== null) {
    const type = player.get(playerTimeZone);
    if (type === undefined) {
      fail(['schedule', 'playerTimeZone'], 'RULE_REFERENCE', `\`player\` has no property \`${playerTimeZone}\`; it is not declared in properties.yaml`, didYouMean(playerTimeZone, player.keys()) ?? 'declare one, e.g. `tz: { last: { event: session.start, field: data.tz } }`');
    } else if (type !== 'string') {
      fail(['schedule', 'playerTimeZone'], 'RULE_TYPE_ERROR', `\`player.${playerTimeZone}\` is ${type}; a time zone is a string like "Europe/Berlin"`);
    }
    if (!s.weekly) fail(['schedule', 'playerTimeZone'], 'RULE_SCHEMA', '`playerTimeZone` needs `weekly` windows: start and end are instants, the same for every player');
  }
  let weekly: WeeklyWindow[] | null = null;
  if (s.weekly) {
    weekly = [];
    const byDay = new Map<string, { fromMin: number; toMin: number; index: number }[]>();
    s.weekly.forEach((w, i) => {
      const fromMin = parseClock(w.from);
      const toMin = parseClock(w.to);
      if (fromMin === null || fromMin >= 1440) return fail(['schedule', 'weekly', i, 'from'], 'RULE_SCHEMA', `\`from\` must be a time of day from 00:00 to 23:59, not ${w.from}`);
      if (toMin === null) return fail(['schedule', 'weekly', i, 'to'], 'RULE_SCHEMA', `\`to\` must be a time of day from 00:01 to 24:00, not ${w.to}`);
      if (toMin === fromMin) return fail(['schedule', 'weekly', i, 'to'], 'RULE_SCHEMA', `the window ${w.from}–${w.to} is empty: \`to\` equals \`from\``, 'a whole day is from: "00:00", to: "24:00"');
      if (toMin < fromMin) {
        return fail(['schedule', 'weekly', i, 'to'], 'RULE_SCHEMA', `the window ${w.from}–${w.to} ends before it starts; a window may not cross midnight`, `split it in two: ${w.from}–24:00 on one day and 00:00–${w.to} on the next`);
      }
      const seen = new Set<string>();
      let overlapped = false;
      w.days.forEach((day, k) => {
        if (seen.has(day)) fail(['schedule', 'weekly', i, 'days', k], 'RULE_SCHEMA', `day \`${day}\` is listed twice`);
        seen.add(day);
        const list = byDay.get(day) ?? [];
        const other = list.find((o) => o.fromMin < toMin && fromMin < o.toMin);
        if (other && !overlapped) {
          overlapped = true;
          fail(['schedule', 'weekly', i], 'RULE_CONFLICT', `weekly windows ${other.index + 1} and ${i + 1} overlap on ${day}`, 'merge them into one window or make them disjoint');
        }
        list.push({ fromMin, toMin, index: i });
        byDay.set(day, list);
      });
      weekly?.push({ days: WEEKDAYS.filter((d) => seen.has(d)), fromMin, toMin });
    });
  }
  if (errors.length > 0) return null;
  return new Schedule({ start, end, timeZone, weekly, ...(playerTimeZone !== null ? { playerTimeZone } : {}) });
}

function checkCurrency(code: string, path: PathSegment[], err: (p: PathSegment[], c: 'RULE_REFERENCE', m: string, h?: string) => void): void {
  if (!ISO_4217.has(code)) err(path, 'RULE_REFERENCE', `unknown currency \`${code}\``, didYouMean(code, ISO_4217) ?? 'use an ISO 4217 code such as USD, EUR or GBP');
}
