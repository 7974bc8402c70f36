import { api } from '../api.ts';
import { barChart } from '../chart.ts';
import { h, clear, fmtInt, fmtMoney, fmtPct, fmtTime } from '../dom.ts';
import type { BacktestJob, BacktestReport, BacktestRow, BacktestSide } from '../shapes.ts';
import { isEdited, loadPublished, workingCopy } from '../state.ts';

const POLL_MS = 400;

/** Starts a backtest of the working copy (POST /v1/rules/backtest), follows its progress, shows the report. */
export async function backtestView(jobParam: string | null): Promise<HTMLElement> {
  await loadPublished();
  const draft = await workingCopy();
  const from = h('input', { id: 'bt-from', value: '24h', size: 24, 'aria-label': 'from' });
  const to = h('input', { id: 'bt-to', value: 'now', size: 24, 'aria-label': 'to' });
  const run = h('button', { class: 'primary', id: 'bt-run', type: 'button' }, 'Run backtest');
  const progress = h('progress', { id: 'bt-progress', max: 100, value: 0, hidden: true });
  const status = h('span', { id: 'bt-status', class: 'muted' });
  const out = h('div', { id: 'bt-report' });

  const follow = async (id: string) => {
    progress.hidden = false;
    run.disabled = true;
    for (;;) {
      const job = await api<BacktestJob>('GET', `/v1/rules/backtest/${encodeURIComponent(id)}`);
      progress.value = job.progress?.percent ?? 0;
      status.textContent = `${job.state}${job.progress ? ` — ${job.progress.phase} ${fmtInt(job.progress.done)} / ${fmtInt(job.progress.total)} events` : ''}`;
      if (job.state === 'completed' && job.report) {
        clear(out);
        out.appendChild(reportView(job.report));
        break;
      }
      if (job.state === 'failed') {
        status.className = 'bad';
        status.textContent = `failed: ${job.error ?? 'unknown error'}`;
        break;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    run.disabled = false;
  };

  run.addEventListener('click', () => {
    clear(out);
    status.className = 'muted';
    status.textContent = 'queued';
    api<{ id: string }>('POST', '/v1/rules/backtest', { files: draft.files, from: from.value, to: to.value })
      .then((res) => {
        history.replaceState(null, '', `#/backtest/${encodeURIComponent(res.id)}`);
        return follow(res.id);
      })
      .catch((err: Error) => {
        status.className = 'bad';
        status.textContent = err.message;
        run.disabled = false;
      });
  });
  if (jobParam) void follow(jobParam);

  return h(
    'section',
    {},
    h('h1', {}, 'Backtest'),
    h(
      'p',
      { class: 'muted' },
      `Replays the retained events of the window through ${isEdited(draft) ? `your edited draft (based on v${draft.baseVersion})` : `version ${draft.baseVersion}`}, side by side with the published version. Nothing is delivered and no live counter moves. Times: ISO 8601 (2026-11-25T10:00:00Z), epoch ms, “now”, or a duration ago (“90m”, “24h”, “7d”).`,
    ),
    h('div', { class: 'row card' }, h('label', {}, 'From ', from), h('label', {}, 'To ', to), run, progress, status),
    out,
  );
}

const BLOCK_LABELS: Record<string, string> = {
  control_arm: 'control arm',
  holdout: 'holdout',
  cooldown: 'cooldown',
  cap_reached: 'cap',
  budget_exhausted: 'budget',
  fatigue_daily_cap: 'fatigue: daily',
  fatigue_after_purchase: 'fatigue: purchase',
  fatigue_after_decline: 'fatigue: decline',
  lost_to_priority: 'lost to priority',
};

function reportView(report: BacktestReport): HTMLElement {
  const key = (r: BacktestRow) => `${r.ruleId}\u0000${r.variant}`;
  const base = new Map((report.published?.rows ?? []).map((r) => [key(r), r]));
  const keys = [...new Set([...report.draft.rows.map(key), ...base.keys()])];
  const draftRows = new Map(report.draft.rows.map((r) => [key(r), r]));
  const labels = keys.map((k) => k.replace('\u0000', ' · '));
  const chart = barChart(
    'Offers per rule and variant',
    labels,
    [
      { name: 'draft', color: '#2f6fed', values: keys.map((k) => offersOf(draftRows.get(k))) },
      { name: 'published', color: '#9aa3b5', values: keys.map((k) => offersOf(base.get(k))) },
    ],
  );

  const table = h('table', { id: 'bt-table' });
  table.appendChild(
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['rule · variant', 'bundle', 'triggers', 'offers', 'players', 'blocked', 'purchase rate', 'projected revenue'].map((c, i) => h('th', { class: i >= 2 && i !== 5 ? 'num' : '' }, c)),
      ),
    ),
  );
  const body = h('tbody', {});
  for (const k of keys) {
    const label = k.replace('\u0000', ' · ');
    body.appendChild(sideRow(label, 'draft', draftRows.get(k), report.draft));
    if (report.published) body.appendChild(sideRow('', `published v${report.published.version}`, base.get(k), report.published, true));
  }
  table.appendChild(body);

  return h(
    'div',
    {},
    h('h2', {}, `Report — ${fmtTime(report.window.from)} to ${fmtTime(report.window.to)}, ${fmtInt(report.window.events)} events in ${(report.elapsedMs / 1000).toFixed(1)} s`),
    h('div', { class: 'card' }, h('div', { class: 'legend muted' }, 'offers:', h('span', { style: 'background:#2f6fed' }), 'draft', h('span', { style: 'background:#9aa3b5' }), 'published'), chart),
    table,
  );
}

function offersOf(r: BacktestRow | undefined): number {
  return r ? (r.mode === 'shadow' ? r.shadowOffers : r.offers) : 0;
}

function sideRow(label: string, bundle: string, r: BacktestRow | undefined, _side: BacktestSide, sub = false): HTMLElement {
  if (!r) return h('tr', { class: sub ? 'sub' : '' }, h('td', {}, label), h('td', {}, bundle), h('td', { colspan: 6, class: 'muted' }, 'not in this bundle'));
  const blocked = Object.entries(r.blocked)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${BLOCK_LABELS[reason] ?? reason} ${fmtInt(n)}`)
    .join(', ');
  return h(
    'tr',
    { class: sub ? 'sub' : '', 'data-bt-rule': r.ruleId, 'data-bt-variant': r.variant, 'data-bt-bundle': sub ? 'published' : 'draft' },
    h('td', {}, label, r.mode === 'shadow' ? h('span', { class: 'badge shadow' }, 'shadow') : null),
    h('td', {}, bundle),
    h('td', { class: 'num' }, fmtInt(r.triggers)),
    h('td', { class: 'num', 'data-bt-offers': '' }, fmtInt(offersOf(r))),
    h('td', { class: 'num' }, fmtInt(r.uniquePlayers)),
    h('td', {}, blocked || '–'),
    h('td', { class: 'num' }, r.purchaseRate === null ? 'unknown' : fmtPct(r.purchaseRate)),
    h('td', { class: 'num' }, r.projectedRevenue === null ? 'unknown' : fmtMoney(r.projectedRevenue, r.price.currency)),
  );
}
