import type { BanditCell } from '../../admin/stats.ts';
/**
 * What the console reads from the admin API (docs/contract.md §5, docs/offers.md), reduced to
 * the fields it shows. Normalizers accept the documented shapes and ignore the rest.
 */
export interface Diagnostic {
  severity: 'error' | 'warning';
  code: string;
  file: string;
  line: number;
  column: number;
  message: string;
  hint?: string;
}

export interface PublishedRule {
  id: string;
  file: string;
  enabled: boolean;
  mode: 'live' | 'shadow';
  priority: number;
  trigger?: { event: string; when: string | null; followUpOnly?: boolean };
  /** Absent from older servers; null: the rule always applies. */
  schedule?: RuleSchedule | null;
  /** Offer fields computed per player; absent from older servers. */
  shaped?: RuleShaped[];
}

/** One offer field computed per player, as `GET /v1/rules` describes it. */
export interface RuleShaped {
  field: string;
  /** The CEL expression; for `title`, the template. */
  expr: string;
  min?: number;
  max?: number;
  round?: number | null;
  default: number | string;
}

/** What a shaped field came to for one player (docs/designers.md, "Offers shaped per player"). */
export interface ShapedValue {
  field: string;
  value: number | string;
  outcome: 'computed' | 'clamped' | 'fallback';
  computed?: number | string;
  error?: string;
  inputs: Record<string, unknown>;
}

export interface RuleSchedule {
  start: string | null;
  end: string | null;
  timeZone: string;
  playerTimeZone?: string | null;
  weekly: { days: string[]; from: string; to: string }[] | null;
  activeNow: boolean;
  nextStart: string | null;
}

export interface Published {
  version: number;
  files: Record<string, string>;
  rules: PublishedRule[];
}

export interface StatRow {
  ruleId: string;
  variant: string;
  mode?: string;
  triggered: number;
  offered: number;
  shadow_offered: number;
  delivered: number;
  shown: number;
  accepted: number;
  purchased: number;
  revenue: number;
  currency?: string;
  /** Attribution windows opened (players whose spend counts towards the rule), and their spend. */
  exposed: number;
  spend: number;
  spendCurrency?: string;
  spendPerExposed: number | null;
  /** Against the rule's `(holdout)` row, computed by the API; null without a baseline. */
  lift: number | null;
  /** Its 95 % interval; null while either group is too small. */
  liftLow: number | null;
  liftHigh: number | null;
  /** A live bandit rule's arm: its current share and posterior (mean, 95 % interval); null otherwise. */
  bandit: BanditCell | null;
}


export interface RuleDecision {
  ruleId: string;
  mode: 'live' | 'shadow';
  variant: string | null;
  outcome: string;
  reason: string;
  offerId?: string;
  values: Record<string, unknown>;
  error?: string;
  shaped?: ShapedValue[];
}

export interface DecisionRecord {
  eventId: string;
  eventType: string;
  at: number;
  bundleVersion: number;
  offerId: string | null;
  rules: RuleDecision[];
  followUpOf?: string;
  /** Lifecycle of the live offer made for the event: pending, shown, accepted, declined, purchased, expired. */
  offer?: { status: string; responses: Record<string, number>; revenue?: number };
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function toPublished(body: unknown): Published {
  const b = (body ?? {}) as { version?: unknown; files?: unknown; rules?: unknown };
  const files: Record<string, string> = {};
  if (b.files && typeof b.files === 'object') {
    for (const [k, v] of Object.entries(b.files as Record<string, unknown>)) if (typeof v === 'string') files[k] = v;
  }
  return { version: num(b.version), files, rules: Array.isArray(b.rules) ? (b.rules as PublishedRule[]) : [] };
}

export function toDiagnostics(body: unknown): Diagnostic[] {
  const b = (body ?? {}) as { diagnostics?: unknown; errors?: unknown; error?: { details?: { diagnostics?: unknown } } };
  const list = b.diagnostics ?? b.errors ?? b.error?.details?.diagnostics;
  return Array.isArray(list) ? (list as Diagnostic[]).filter((d) => d && typeof d.message === 'string') : [];
}

export function toStatRows(body: unknown): StatRow[] {
  const b = (body ?? {}) as { rules?: unknown; rows?: unknown };
  const list = Array.isArray(body) ? body : Array.isArray(b.rows) ? b.rows : Array.isArray(b.rules) ? b.rules : [];
  return (list as Record<string, unknown>[]).map((r) => ({
    ruleId: String(r.ruleId ?? r.rule ?? ''),
    variant: String(r.variant ?? '-'),
    mode: typeof r.mode === 'string' ? r.mode : undefined,
    triggered: num(r.triggered),
    offered: num(r.offered),
    shadow_offered: num(r.shadow_offered),
    delivered: num(r.delivered),
    shown: num(r.shown),
    accepted: num(r.accepted),
    purchased: num(r.purchased),
    revenue: num(r.revenue),
    currency: typeof r.currency === 'string' ? r.currency : undefined,
    exposed: num(r.exposed),
    spend: num(r.spend),
    spendCurrency: typeof r.spendCurrency === 'string' ? r.spendCurrency : undefined,
    spendPerExposed: numOrNull(r.spendPerExposed),
    lift: numOrNull(r.lift),
    liftLow: numOrNull(r.liftLow),
    liftHigh: numOrNull(r.liftHigh),
    bandit: toBanditCell(r.bandit),
  }));
}

function toBanditCell(v: unknown): BanditCell | null {
  if (!v || typeof v !== 'object') return null;
  const b = v as Record<string, unknown>;
  return {
    objective: b.objective === 'revenue' ? 'revenue' : 'purchase_rate',
    share: num(b.share),
    warmingUp: b.warmingUp === true,
    mean: numOrNull(b.mean),
    low: numOrNull(b.low),
    high: numOrNull(b.high),
  };
}

export function toDecisions(body: unknown): DecisionRecord[] {
  const b = (body ?? {}) as { decisions?: unknown };
  const list = Array.isArray(body) ? body : Array.isArray(b.decisions) ? b.decisions : [];
  return list as DecisionRecord[];
}

/** One rule × variant of a backtest report (offers/backtest/report.ts). */
export interface BacktestRow {
  ruleId: string;
  variant: string;
  mode: 'live' | 'shadow';
  triggers: number;
  offers: number;
  shadowOffers: number;
  uniquePlayers: number;
  blocked: Record<string, number>;
  price: { amount: number; currency: string };
  purchaseRate: number | null;
  projectedRevenue: number | null;
}

export interface BacktestSide {
  version: number;
  hash: string;
  rows: BacktestRow[];
}

export interface BacktestReport {
  window: { from: number; to: number; events: number };
  draft: BacktestSide;
  published: BacktestSide | null;
  elapsedMs: number;
}

export interface BacktestJob {
  id: string;
  state: string;
  progress: { phase: string; done: number; total: number; percent: number } | null;
  report: BacktestReport | null;
  error: string | null;
}

/** One row of `GET /v1/audit` as the Audit view shows it. */
export interface AuditRow {
  id: string;
  at: number;
  who: string;
  role: string | null;
  via: string;
  action: string;
  from: number;
  to: number;
  restored: number | null;
  message: string | null;
  /** What changed, in words: `rules changed: a, b; properties added: c`, `comeback-bundle live → shadow`. */
  changes: string;
}

const SUMMARY_LABELS: readonly [string, string][] = [
  ['rulesAdded', 'rules added'],
  ['rulesRemoved', 'rules removed'],
  ['rulesChanged', 'rules changed'],
  ['propertiesAdded', 'properties added'],
  ['propertiesRemoved', 'properties removed'],
  ['propertiesChanged', 'properties changed'],
  ['eventsAdded', 'events added'],
  ['eventsRemoved', 'events removed'],
  ['eventsChanged', 'events changed'],
  ['segmentsAdded', 'segments added'],
  ['segmentsRemoved', 'segments removed'],
  ['segmentsChanged', 'segments changed'],
];

/** `{ entries: [...] }` → rows; entries without an action or versions are skipped. */
export function toAuditRows(body: unknown): AuditRow[] {
  const entries = body && typeof body === 'object' ? (body as { entries?: unknown }).entries : undefined;
  if (!Array.isArray(entries)) return [];
  const rows: AuditRow[] = [];
  for (const raw of entries) {
    if (!raw || typeof raw !== 'object') continue;
    const e = raw as Record<string, unknown>;
    if (typeof e.action !== 'string' || typeof e.to !== 'number') continue;
    const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
    let changes: string;
    if (e.action === 'mode') {
      const modes = Array.isArray(e.modes) ? (e.modes as { rule?: unknown; from?: unknown; to?: unknown }[]) : [];
      changes = modes.map((m) => `${String(m.rule)} ${String(m.from)} → ${String(m.to)}`).join('; ');
    } else {
      const summary = e.summary && typeof e.summary === 'object' ? (e.summary as Record<string, unknown>) : {};
      const parts = SUMMARY_LABELS.flatMap(([key, label]) => {
        const list = summary[key];
        return Array.isArray(list) && list.length > 0 ? [`${label}: ${list.map(String).join(', ')}`] : [];
      });
      if (summary.policyChanged === true) parts.push('policy changed');
      changes = parts.length > 0 ? parts.join('; ') : 'no rule, property or event changed';
    }
    rows.push({
      id: str(e.id) ?? '',
      at: num(e.at) ?? 0,
      who: str(e.who) ?? '?',
      role: str(e.role),
      via: str(e.via) ?? '',
      action: e.action,
      from: num(e.from) ?? 0,
      to: e.to,
      restored: num(e.restored),
      message: str(e.message),
      changes,
    });
  }
  return rows;
}

/** One row of `GET /v1/segments` as the Segments view shows it. */
export interface SegmentRow {
  name: string;
  description: string;
  condition: string;
  active: boolean;
  maxOffersPerDay: number | null;
  today: number;
}

/** `{ day, segments: [...] }` → the day and rows; entries without a name are skipped. */
export function toSegmentRows(body: unknown): { day: string; rows: SegmentRow[] } {
  const b = body && typeof body === 'object' ? (body as { day?: unknown; segments?: unknown }) : {};
  const rows: SegmentRow[] = [];
  for (const raw of Array.isArray(b.segments) ? b.segments : []) {
    if (!raw || typeof raw !== 'object') continue;
    const s = raw as Record<string, unknown>;
    if (typeof s.name !== 'string') continue;
    rows.push({
      name: s.name,
      description: typeof s.description === 'string' ? s.description : '',
      condition: typeof s.condition === 'string' ? s.condition : '',
      active: s.active === true,
      maxOffersPerDay: typeof s.maxOffersPerDay === 'number' ? s.maxOffersPerDay : null,
      today: typeof s.today === 'number' ? s.today : 0,
    });
  }
  return { day: typeof b.day === 'string' ? b.day : '', rows };
}
