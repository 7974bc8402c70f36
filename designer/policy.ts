import { ISO_4217 } from './currencies.ts';
import { diagnostic } from './diagnostics.ts';
import { parseDuration } from './duration.ts';
import type { PolicyFile } from './schemas.ts';
import { didYouMean } from './suggest.ts';
import type { Diagnostic, EventSpec, Policy, RevenueSpec, ValueType } from './types.ts';
import type { YamlFile } from './yaml-doc.ts';

/** Spend counts towards a rule for this long after a trigger unless `revenue.window` says otherwise. */
export const DEFAULT_REVENUE_WINDOW_MS = 7 * 86_400_000;

/** An inactive player's live state is kept this long unless `retention` says otherwise. */
export const DEFAULT_RETENTION_MS = 90 * 86_400_000;
/** The shortest retention: below a day, a player's state could vanish between two sessions of one day's play. */
export const MIN_RETENTION_MS = 86_400_000;

/**
 * From a schema-valid policy.yaml; no file means no fatigue limits, no holdout and no
 * revenue event. `events` is null when events.yaml has errors: the revenue event is then
 * not checked (and not compiled), so one mistake upstream is not reported twice; likewise
 * `segments` (the names declared in segments.yaml) is null when segments.yaml has errors.
 */
export function compilePolicy(
  yaml: YamlFile | null,
  file: PolicyFile | null,
  events: ReadonlyMap<string, EventSpec> | null,
  segments: readonly string[] | null = [],
): { policy: Policy; diagnostics: Diagnostic[] } {
  const f = file?.fatigue;
  const diagnostics: Diagnostic[] = [];
  const revenue = yaml && file?.revenue && events ? compileRevenue(yaml, file.revenue, events, diagnostics) : null;
  const holdoutPercent = file?.holdout?.percent ?? 0;
  if (yaml && revenue && holdoutPercent === 0) {
    diagnostics.push(
      diagnostic('warning', 'RULE_CONFLICT', yaml.file, yaml.keyAt(['revenue']), 'a revenue event without a holdout: lift has no baseline', 'set `holdout: { percent: 5 }` (a share of players that never gets an offer)'),
    );
  }
  let retentionMs = DEFAULT_RETENTION_MS;
  if (file?.retention !== undefined) {
    const ms = parseDuration(file.retention);
    if (ms !== null && ms >= MIN_RETENTION_MS) retentionMs = ms;
    else if (yaml) diagnostics.push(diagnostic('error', 'RULE_SCHEMA', yaml.file, yaml.at(['retention']), `\`retention\` must be at least 1d, not \`${file.retention}\``, 'e.g. 30d or 90d'));
  }
  const segmentCaps = new Map<string, number>();
  for (const [name, spec] of Object.entries(file?.segments ?? {})) {
    if (segments === null || segments.includes(name)) segmentCaps.set(name, spec.maxOffersPerDay);
    else if (yaml) {
      diagnostics.push(
        diagnostic('error', 'RULE_REFERENCE', yaml.file, yaml.keyAt(['segments', name]), `segment \`${name}\` is not declared in segments.yaml`, didYouMean(name, segments) ?? (segments.length ? `declared: ${segments.join(', ')}` : 'declare it in segments.yaml')),
      );
    }
  }
  const policy: Policy = {
    maxOffersPerDay: f?.maxOffersPerDay ?? null,
    quietAfterPurchaseMs: f?.quietAfterPurchase ? parseDuration(f.quietAfterPurchase) : null,
    quietAfterDeclineMs: f?.quietAfterDecline ? parseDuration(f.quietAfterDecline) : null,
    holdoutPercent,
    revenue,
    retentionMs,
    segmentCaps,
  };
  return { policy, diagnostics };
}

type RevenueFile = NonNullable<PolicyFile['revenue']>;

function compileRevenue(yaml: YamlFile, spec: RevenueFile, events: ReadonlyMap<string, EventSpec>, diagnostics: Diagnostic[]): RevenueSpec | null {
  const err = (key: string, code: Parameters<typeof diagnostic>[1], message: string, hint?: string): null => {
    diagnostics.push(diagnostic('error', code, yaml.file, yaml.at(['revenue', key]), message, hint));
    return null;
  };
  if (spec.event.startsWith('offer.')) {
    return err('event', 'RULE_CONFLICT', `\`${spec.event}\` is built in: purchases of offers count already`, 'name the event your game sends for purchases outside the offers, like shop.purchase');
  }
  const event = events.get(spec.event);
  if (!event) return err('event', 'RULE_REFERENCE', `event \`${spec.event}\` is not declared in events.yaml`, didYouMean(spec.event, events.keys()));

  /** The field name of `data.<name>` when the event declares it with one of `types`; else a diagnostic and null. */
  const dataField = (key: 'amount' | 'currency', path: string, types: readonly ValueType[], what: string): string | null => {
    const parts = path.split('.');
    if (parts.length !== 2 || parts[0] !== 'data' || !parts[1]) {
      return err(key, 'RULE_SCHEMA', `\`${key}\` must name an event data field like \`data.${key}\`, not \`${path}\``);
    }
    const name = parts[1];
    const declared = event.fields.get(name);
    if (!declared) {
      return err(key, 'RULE_REFERENCE', `event \`${spec.event}\` has no field \`${name}\``, didYouMean(name, event.fields.keys()) ?? `declare it in events.yaml as ${what}`);
    }
    if (!types.includes(declared.type)) {
      return err(key, 'RULE_TYPE_ERROR', `\`${key}\` needs ${what}; \`data.${name}\` of \`${spec.event}\` is ${declared.type}`);
    }
    return name;
  };

  const amountField = dataField('amount', spec.amount, ['int'], 'an int (minor units: 199 = 1.99)');
  let currency: RevenueSpec['currency'] | null = null;
  if (/^[A-Z]{3}$/.test(spec.currency)) {
    if (ISO_4217.has(spec.currency)) currency = { code: spec.currency };
    else err('currency', 'RULE_REFERENCE', `unknown currency \`${spec.currency}\``, didYouMean(spec.currency, ISO_4217) ?? 'use an ISO 4217 code such as USD, EUR or GBP');
  } else if (spec.currency.startsWith('data.')) {
    const field = dataField('currency', spec.currency, ['string'], 'a string (an ISO 4217 code)');
    if (field) currency = { field };
  } else {
    err('currency', 'RULE_SCHEMA', `\`currency\` must be an ISO 4217 code like USD or an event data field like data.currency, not \`${spec.currency}\``);
  }
  const windowMs = spec.window === undefined ? DEFAULT_REVENUE_WINDOW_MS : parseDuration(spec.window);
  if (!windowMs) return err('window', 'RULE_SCHEMA', '`window` must be longer than 0', 'e.g. 24h or 7d');
  if (!amountField || !currency) return null;
  return { event: spec.event, amountField, currency, windowMs };
}
