import type { StatRow } from './shapes.ts';

/**
 * The live funnel of one rule × variant. Conversion is purchased / offered (shadow rows:
 * purchases cannot happen, conversion is empty). Lift comes computed from the API: spend per
 * exposed player of the variant against the rule's global-holdout group (docs/offers.md,
 * "Lift").
 */
export interface FunnelRow extends StatRow {
  conversion: number | null;
}

/** The global holdout's group: it carries exposures and spend only. */
export const HOLDOUT_VARIANT = '(holdout)';

export function funnelRows(rows: readonly StatRow[]): FunnelRow[] {
  return rows.map((r) => ({ ...r, conversion: r.variant !== HOLDOUT_VARIANT && r.offered > 0 ? r.purchased / r.offered : null }));
}

/** Rows grouped by rule, rules in the given order, unknown rules after. */
export function groupByRule<T extends { ruleId: string }>(rows: readonly T[], order: readonly string[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const id of order) out.set(id, []);
  for (const r of rows) {
    const list = out.get(r.ruleId) ?? [];
    list.push(r);
    out.set(r.ruleId, list);
  }
  return out;
}
