import type { BacktestReport, BundleReport, RuleVariantReport } from './report.ts';

/**
 * The report as the CLI prints it: one line per rule × variant and bundle (draft first,
 * then the published version), then the totals. Pure.
 */
const BLOCK_SHORT: Record<string, string> = {
  control_arm: 'control',
  holdout: 'holdout',
  cooldown: 'cooldown',
  cap_reached: 'cap',
  budget_exhausted: 'budget',
  fatigue_daily_cap: 'daily-cap',
  fatigue_after_purchase: 'quiet-purchase',
  fatigue_after_decline: 'quiet-decline',
  lost_to_priority: 'priority',
};

const money = (minor: number | null, currency: string) => (minor === null ? 'unknown' : `${(minor / 100).toFixed(2)} ${currency}`);

function blocked(r: RuleVariantReport): string {
  const parts = Object.entries(r.blocked).map(([k, n]) => `${BLOCK_SHORT[k] ?? k} ${n}`);
  return parts.length ? parts.join(', ') : '-';
}

function line(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => (i >= 2 && i <= 5 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
}

export function formatReport(report: BacktestReport): string {
  const header = ['rule / variant', 'bundle', 'triggers', 'offers', 'players', 'revenue?', 'blocked'];
  const rows: string[][] = [];
  const sides: Array<[string, BundleReport]> = [['draft', report.draft]];
  if (report.published) sides.push([`v${report.published.version}`, report.published]);
  const keys = new Set<string>();
  for (const [, side] of sides) for (const r of side.rows) keys.add(`${r.ruleId} / ${r.variant}`);
  for (const key of [...keys].sort()) {
    for (const [name, side] of sides) {
      const r = side.rows.find((x) => `${x.ruleId} / ${x.variant}` === key);
      if (!r) {
        rows.push([key, name, '-', '-', '-', '-', 'not in this bundle']);
        continue;
      }
      const offers = r.mode === 'shadow' ? `${r.shadowOffers} (shadow)` : String(r.offers);
      rows.push([key, name, String(r.triggers), offers, String(r.uniquePlayers), money(r.projectedRevenue, r.price.currency), blocked(r)]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const out = [line(header, widths), ...rows.map((r) => line(r, widths))];
  const from = new Date(report.window.from).toISOString();
  const to = new Date(report.window.to).toISOString();
  out.push('');
  out.push(`window ${from} .. ${to}: ${report.window.events} events, ${(report.elapsedMs / 1000).toFixed(1)} s`);
  for (const [name, side] of sides) {
    const offers = side.rows.reduce((n, r) => n + r.offers, 0);
    const shadow = side.rows.reduce((n, r) => n + r.shadowOffers, 0);
    out.push(`${name === 'draft' ? 'draft' : `published ${name}`}: ${offers} offers, ${shadow} shadow offers`);
  }
  out.push('revenue? = offers x price x the live purchase rate of the rule and variant; unknown without live history');
  return `${out.join('\n')}\n`;
}

/** `[#####.....]  42%  draft  42,000 / 100,000 events` for a terminal line. */
export function progressBar(percent: number, label: string, width = 30): string {
  const p = Math.max(0, Math.min(100, Math.floor(percent)));
  const filled = Math.round((p / 100) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(p).padStart(3)}%  ${label}`;
}
