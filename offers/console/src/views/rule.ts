import { api } from '../api.ts';
import { h, fmtInt, fmtPct } from '../dom.ts';
import { liftChart, type LiftPoint } from '../chart.ts';
import { funnelPlot } from '../plots.ts';
import { funnelData, funnelTotals, toTimeline, FUNNEL_STAGES } from '../series.ts';
import { toStatRows } from '../shapes.ts';
import { HOLDOUT_VARIANT } from '../funnel.ts';

const HOURS = 48;

const signedPct = (x: number): string => `${x >= 0 ? '+' : ''}${fmtPct(x)}`;

/**
 * One rule's charts (`#/rule/<id>`): per variant, offered / delivered / shown / purchased
 * per hour over the last 48 hours (`GET /v1/stats/rules/{id}/timeline`), and lift against
 * the global holdout with its 95 % interval (`GET /v1/stats/rules`).
 */
export async function ruleView(ruleId: string | null): Promise<HTMLElement> {
  if (!ruleId) return h('p', { class: 'muted' }, 'Pick a rule on the Rules tab.');
  const [timelineBody, statsBody] = await Promise.all([api<unknown>('GET', `/v1/stats/rules/${encodeURIComponent(ruleId)}/timeline?hours=${HOURS}`), api<unknown>('GET', '/v1/stats/rules')]);
  const timeline = toTimeline(timelineBody);
  const section = h(
    'section',
    { id: 'rule-charts', 'data-rule': ruleId },
    h('h1', {}, `Rule ${ruleId}`),
    h('p', { class: 'muted' }, `The funnel per hour over the last ${HOURS} hours, counted when each step happened (by the processing clock), and lift against the global holdout.`),
    h('h2', {}, 'Funnel over time'),
  );
  if (timeline.variants.length === 0) section.appendChild(h('p', { class: 'muted', id: 'funnel-empty' }, `No offers in the last ${HOURS} hours.`));
  for (const v of timeline.variants) {
    const totals = funnelTotals(v);
    const box = h('div', { class: 'card plot', 'data-funnel-variant': v.variant, 'data-totals': JSON.stringify(totals) });
    box.appendChild(h('div', { class: 'muted' }, `${FUNNEL_STAGES.map((s) => `${s} ${fmtInt(totals[s])}`).join(' · ')} in ${HOURS} h`));
    funnelPlot(`variant ${v.variant}`, funnelData(timeline, v), box);
    section.appendChild(box);
  }

  const rows = toStatRows(statsBody).filter((r) => r.ruleId === ruleId && r.variant !== HOLDOUT_VARIANT);
  const points: LiftPoint[] = rows.filter((r) => r.lift !== null).map((r) => ({ label: r.variant, lift: r.lift as number, low: r.liftLow, high: r.liftHigh }));
  section.appendChild(h('h2', {}, 'Lift vs holdout'));
  section.appendChild(
    points.length === 0
      ? h('p', { class: 'muted', id: 'lift-empty' }, 'No lift yet: it needs exposed players on both sides and a holdout that spent something.')
      : h(
          'div',
          { class: 'card', id: 'lift-chart', 'data-lift': JSON.stringify(points) },
          liftChart(`Lift of ${ruleId} against the global holdout`, points, signedPct),
          h('p', { class: 'muted' }, 'Dot: spend per exposed player against the holdout’s, minus 1. Bar: its 95% confidence interval; green or red only once the interval excludes zero.'),
        ),
  );
  return section;
}
