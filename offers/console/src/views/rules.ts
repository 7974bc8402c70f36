import { api } from '../api.ts';
import { h, fmtInt, fmtMoney, fmtPct } from '../dom.ts';
import { funnelRows, groupByRule, HOLDOUT_VARIANT, type FunnelRow } from '../funnel.ts';
import { toStatRows, type RuleSchedule, type RuleShaped } from '../shapes.ts';
import { loadPublished, saveDraft, workingCopy } from '../state.ts';
import { ruleSummaries } from '../summary.ts';
import { pipelinePanel } from './pipeline.ts';

/** Rules with their live funnel per variant; shadow rules show `shadow_offered` beside live ones. */
export async function rulesView(): Promise<HTMLElement> {
  const [published, statsBody] = await Promise.all([loadPublished(), api<unknown>('GET', '/v1/stats/rules')]);
  const described = new Map(published.rules.map((r) => [r.id, r]));
  const rules = ruleSummaries(published.files).map((r) => {
    const d = described.get(r.id);
    return d ? { ...r, mode: d.mode, enabled: d.enabled, priority: d.priority, trigger: d.trigger, schedule: d.schedule ?? null, shaped: d.shaped ?? [] } : r;
  });
  const rows = groupByRule(funnelRows(toStatRows(statsBody)), rules.map((r) => r.id));

  const table = h(
    'table',
    { id: 'rules-table' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['rule', 'variant', 'triggered', 'offered', 'shadow offered', 'delivered', 'shown', 'purchased', 'revenue', 'conversion', 'exposed', 'spend / player', 'lift vs holdout', 'bandit share · posterior'].map(
          (c, i) => h('th', { class: i >= 2 ? 'num' : '' }, c),
        ),
      ),
    ),
  );
  const body = h('tbody', {});
  for (const rule of rules) {
    const stats = rows.get(rule.id) ?? [];
    const first = h(
      'td',
      { rowspan: Math.max(1, stats.length) },
      h('a', { href: `#/editor/${encodeURIComponent(rule.file)}`, 'data-rule': rule.id }, rule.id),
      ' ',
      h('span', { class: `badge ${rule.enabled ? rule.mode : 'off'}` }, rule.enabled ? rule.mode : 'disabled'),
      ' ',
      h('a', { href: `#/rule/${encodeURIComponent(rule.id)}`, class: 'charts', 'data-charts': rule.id }, 'charts'),
      rule.mode === 'shadow' ? promoteButton(rule.file) : null,
      h('div', { class: 'muted' }, rule.description),
      'trigger' in rule && rule.trigger ? h('div', { class: 'reads' }, `on ${rule.trigger.event}${rule.trigger.followUpOnly ? ' (follow-up only)' : ''}${rule.trigger.when ? `: ${rule.trigger.when}` : ''}`) : null,
      'schedule' in rule && rule.schedule ? scheduleLine(rule.id, rule.schedule) : null,
      ...('shaped' in rule ? rule.shaped.map((s) => shapedLine(rule.id, s)) : []),
    );
    if (stats.length === 0) {
      body.appendChild(h('tr', { 'data-rule-row': rule.id }, first, h('td', { colspan: 13, class: 'muted' }, 'no traffic yet')));
      continue;
    }
    stats.forEach((s, i) => body.appendChild(statRow(rule.id, s, i === 0 ? first : null)));
  }
  for (const [ruleId, stats] of rows) {
    if (rules.some((r) => r.id === ruleId)) continue;
    stats.forEach((s, i) => body.appendChild(statRow(ruleId, s, i === 0 ? h('td', { rowspan: stats.length }, ruleId, h('div', { class: 'muted' }, 'not in the published version')) : null)));
  }
  table.appendChild(body);

  return h(
    'section',
    {},
    pipelinePanel(),
    h('h1', {}, `Rules — published version ${published.version}`),
    h(
      'p',
      { class: 'muted' },
      'Live funnel per rule and variant since the counters began. Conversion is purchased ÷ offered. Exposed counts the players whose trigger started counting their spend towards the rule (the policy’s revenue event and offer purchases, for the revenue window); lift compares spend per exposed player with the rule’s global-holdout group, whose players triggered it but get no offers (– until both have some). Shadow rules are evaluated on live traffic and never delivered: compare their shadow offers with the live rules beside them. A bandit rule shows each arm’s current share of its players and the posterior of its objective (mean and 95% interval); holdout arms keep their fixed share.',
    ),
    table,
  );
}

/** An offer field the rule computes per player: the expression, its bounds and its default. */
function shapedLine(ruleId: string, s: RuleShaped): HTMLElement {
  const bounds = s.min !== undefined && s.max !== undefined ? `, between ${s.min} and ${s.max}${s.round ? `, rounded to ${s.round}` : ''}` : '';
  return h('div', { class: 'reads', 'data-shaped-rule': ruleId, 'data-shaped': s.field }, `${s.field} per player: ${s.expr}${bounds}; default ${JSON.stringify(s.default)}`);
}

/** The rule's schedule and whether it holds now (by the server's clock when the page loaded). */
function scheduleLine(ruleId: string, s: RuleSchedule): HTMLElement {
  const parts = [
    s.start ? `from ${s.start}` : null,
    s.end ? `until ${s.end}` : null,
    s.weekly ? `${s.weekly.map((w) => `${w.days.join(', ')} ${w.from}–${w.to}`).join('; ')} (${s.playerTimeZone ? `the player's player.${s.playerTimeZone}, else ${s.timeZone}` : s.timeZone})` : null,
  ].filter((p): p is string => p !== null);
  const state = s.activeNow ? 'active now' : s.nextStart ? `inactive; next window ${s.nextStart}` : 'inactive; no later window';
  return h(
    'div',
    { class: 'reads', 'data-schedule': ruleId },
    `schedule: ${parts.join(', ')} `,
    h('span', { class: `badge ${s.activeNow ? 'live' : 'off'}`, 'data-schedule-active': String(s.activeNow) }, state),
  );
}

function statRow(ruleId: string, s: FunnelRow, first: HTMLElement | null): HTMLElement {
  const holdout = s.variant === HOLDOUT_VARIANT;
  // The holdout's triggers count in their variants (blocked as `holdout`): it has no funnel of its own.
  const funnel = (n: number) => h('td', { class: 'num' }, holdout ? '–' : fmtInt(n));
  return h(
    'tr',
    { 'data-rule-row': ruleId, 'data-variant': s.variant, class: holdout ? 'sub' : '' },
    first,
    h('td', {}, holdout ? 'global holdout' : s.variant),
    funnel(s.triggered),
    funnel(s.offered),
    funnel(s.shadow_offered),
    funnel(s.delivered),
    funnel(s.shown),
    funnel(s.purchased),
    h('td', { class: 'num' }, holdout ? '–' : fmtMoney(s.revenue, s.currency)),
    h('td', { class: 'num' }, fmtPct(s.conversion)),
    h('td', { class: 'num', 'data-cell': 'exposed' }, fmtInt(s.exposed)),
    h('td', { class: 'num', 'data-cell': 'spend-per-player' }, s.spendPerExposed === null ? '–' : fmtMoney(s.spendPerExposed, s.spendCurrency)),
    liftCell(s),
    banditCell(s),
  );
}

/**
 * A bandit arm's current share of the rule's players, and underneath the posterior of its
 * objective: mean and 95 % interval (purchase rate, or revenue per offer).
 */
function banditCell(s: FunnelRow): HTMLElement {
  const b = s.bandit;
  if (!b) return h('td', { class: 'num', 'data-cell': 'bandit' }, '–');
  const fmt = (x: number) => (b.objective === 'revenue' ? fmtMoney(x, s.currency) : fmtPct(x));
  const posterior =
    b.mean === null || b.low === null || b.high === null
      ? 'holdout: fixed share'
      : `${b.objective === 'revenue' ? 'revenue / offer' : 'purchase rate'} ${fmt(b.mean)} (${fmt(b.low)} … ${fmt(b.high)})`;
  return h(
    'td',
    { class: 'num', 'data-cell': 'bandit', title: b.warmingUp ? 'warming up: shares follow the weights until every arm has made its warm-up offers' : 'share by Thompson sampling; posterior mean with its 95% interval' },
    h('span', { 'data-bandit-share': '' }, `${fmtPct(b.share)}${b.warmingUp ? ' (warm-up)' : ''}`),
    h('div', { class: 'muted ci', 'data-bandit-posterior': '' }, posterior),
  );
}

const signedPct = (x: number): string => `${x >= 0 ? '+' : ''}${fmtPct(x)}`;

/**
 * Lift with its 95 % interval underneath. Green only when the whole interval is above zero,
 * red only when it is all below: a point estimate alone is not a result.
 */
function liftCell(s: FunnelRow): HTMLElement {
  if (s.lift === null) return h('td', { class: 'num', 'data-cell': 'lift' }, h('span', { 'data-lift': '' }, '–'));
  const ci = s.liftLow !== null && s.liftHigh !== null ? { low: s.liftLow, high: s.liftHigh } : null;
  const tone = ci === null ? '' : ci.low > 0 ? 'ok' : ci.high < 0 ? 'bad' : '';
  return h(
    'td',
    { class: `num ${tone}`, 'data-cell': 'lift', title: ci ? '95% confidence interval underneath; green or red once it excludes zero' : 'too few exposed players for an interval yet' },
    h('span', { 'data-lift': '' }, signedPct(s.lift)),
    h('div', { class: 'muted ci', 'data-lift-ci': '' }, ci ? `${signedPct(ci.low)} … ${signedPct(ci.high)}` : 'too few players'),
  );
}

/**
 * Promotion of a shadow rule: the working copy gets `mode: live` in the rule's file and the
 * editor opens on it, to be backtested and published like any other edit.
 */
function promoteButton(file: string): HTMLElement {
  const button = h('button', { type: 'button', class: 'link promote', 'data-promote': file }, 'promote to live…');
  button.addEventListener('click', () => {
    void workingCopy().then((draft) => {
      const text = draft.files[file] ?? '';
      draft.files[file] = /^mode:[ \t]*shadow\b/m.test(text) ? text.replace(/^mode:[ \t]*shadow\b/m, 'mode: live') : text;
      saveDraft(draft);
      location.hash = `#/editor/${encodeURIComponent(file)}`;
    });
  });
  return button;
}
