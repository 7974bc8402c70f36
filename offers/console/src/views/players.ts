import { api, ApiError } from '../api.ts';
import { h, fmtMoney, fmtTime } from '../dom.ts';
import { toDecisions, type DecisionRecord, type RuleDecision, type ShapedValue } from '../shapes.ts';

const BUILTIN_TIMES = new Set(['first_seen', 'last_seen', 'last_purchase_at']);

/** Player lookup: properties as the rules see them, and the "why / why not" trail. */
export async function playersView(playerParam: string | null): Promise<HTMLElement> {
  const input = h('input', { id: 'player-id', placeholder: 'player id', value: playerParam ?? '', size: 32, 'aria-label': 'player id' });
  const go = h('button', { class: 'primary', id: 'player-go', type: 'submit' }, 'Look up');
  const form = h('form', { class: 'row card' }, input, go);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const id = input.value.trim();
    if (id) location.hash = `#/players/${encodeURIComponent(id)}`;
  });
  const section = h('section', {}, h('h1', {}, 'Players'), form);
  if (!playerParam) return section;

  try {
    const path = `/v1/players/${encodeURIComponent(playerParam)}`;
    const [player, decisions] = await Promise.all([api<Snapshot>('GET', path), api<unknown>('GET', `${path}/decisions`)]);
    section.appendChild(propertiesView(player));
    section.appendChild(trailView(toDecisions(decisions)));
  } catch (err) {
    section.appendChild(h('p', { class: 'bad', id: 'player-error' }, err instanceof ApiError && err.status === 404 ? `No player “${playerParam}”.` : (err as Error).message));
  }
  return section;
}

interface Snapshot {
  id: string;
  bundleVersion: number;
  at: number;
  player: Record<string, unknown>;
  /** The player's value in each segment the rules use. */
  segments?: Record<string, boolean>;
  inbox: { id: string; ruleId: string; sku: string; price: { amount: number; currency: string }; expiresAt: number; variant?: string }[];
}

function show(name: string, value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' && BUILTIN_TIMES.has(name)) return `${value} (${fmtTime(value)})`;
  return JSON.stringify(value);
}

function propertiesView(snap: Snapshot): HTMLElement {
  const rows = [
    ...Object.entries(snap.player ?? {}).map(([k, v]) => h('tr', {}, h('td', {}, h('code', {}, `player.${k}`)), h('td', { 'data-prop': k }, show(k, v)))),
    ...Object.entries(snap.segments ?? {}).map(([k, v]) => h('tr', {}, h('td', {}, h('code', {}, `segment.${k}`)), h('td', { 'data-segment': k }, String(v)))),
  ];
  const inbox = (snap.inbox ?? []).map((o) =>
    h('tr', {}, h('td', {}, o.ruleId), h('td', {}, o.sku), h('td', {}, o.variant ?? '–'), h('td', { class: 'num' }, fmtMoney(o.price.amount, o.price.currency)), h('td', {}, fmtTime(o.expiresAt))),
  );
  return h(
    'div',
    {},
    h('h2', {}, `Properties — as the rules see them now (bundle v${snap.bundleVersion})`),
    h('table', { id: 'player-props' }, h('tbody', {}, ...rows)),
    h('h2', {}, 'Pending offers'),
    inbox.length
      ? h('table', { id: 'player-inbox' }, h('thead', {}, h('tr', {}, ...['rule', 'sku', 'variant', 'price', 'expires'].map((c) => h('th', {}, c)))), h('tbody', {}, ...inbox))
      : h('p', { class: 'muted' }, 'None.'),
  );
}

function trailView(decisions: DecisionRecord[]): HTMLElement {
  const wrap = h('div', { class: 'trail', id: 'decision-trail' }, h('h2', {}, 'Why / why not — latest decisions, newest first'));
  if (decisions.length === 0) wrap.appendChild(h('p', { class: 'muted' }, 'No triggering events yet.'));
  for (const d of decisions) {
    wrap.appendChild(
      h(
        'div',
        { class: 'event card', 'data-event': d.eventId },
        h(
          'div',
          { class: 'row' },
          h('strong', {}, d.eventType),
          h('span', { class: 'muted' }, `event ${d.eventId} · ${fmtTime(d.at)} · bundle v${d.bundleVersion}`),
          h('span', { class: 'grow' }),
          d.offerId ? h('span', { class: 'ok' }, `offer ${d.offerId}${d.offer ? ` · ${d.offer.status}` : ''}`) : h('span', { class: 'muted' }, 'no offer'),
        ),
        h('table', {}, h('tbody', {}, ...d.rules.map(ruleLine))),
      ),
    );
  }
  return wrap;
}

function outcomeClass(r: RuleDecision): string {
  if (r.outcome === 'offered') return 'outcome-offered';
  if (r.outcome === 'shadow') return 'outcome-shadow';
  if (r.outcome === 'condition_false') return 'outcome-no-match';
  return 'outcome-blocked';
}

function ruleLine(r: RuleDecision): HTMLElement {
  const reads = Object.entries(r.values ?? {})
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
    .join(', ');
  return h(
    'tr',
    { 'data-rule': r.ruleId, 'data-outcome': r.outcome },
    h('td', {}, r.ruleId, r.mode === 'shadow' ? h('span', { class: 'badge shadow' }, 'shadow') : null, r.variant ? h('span', { class: 'muted' }, ` · ${r.variant}`) : null),
    h('td', { class: outcomeClass(r) }, r.reason),
    h('td', { class: 'reads' }, reads, r.error ? h('span', { class: 'bad' }, ` (${r.error})`) : null, ...(r.shaped ?? []).map(shapedLine)),
  );
}

/** One offer field computed for the player: its value, how it came about, and what the expression read. */
function shapedLine(s: ShapedValue): HTMLElement {
  const value = JSON.stringify(s.value);
  const how =
    s.outcome === 'fallback'
      ? `fallback to the default (${s.error ?? 'runtime error'})`
      : s.outcome === 'clamped'
        ? `clamped from ${JSON.stringify(s.computed)} to ${value}`
        : s.computed !== undefined && s.computed !== s.value
          ? `computed ${JSON.stringify(s.computed)}, rounded`
          : 'computed';
  const inputs = Object.entries(s.inputs ?? {})
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
    .join(', ');
  return h(
    'div',
    { class: 'shaped', 'data-shaped': s.field, 'data-shaped-outcome': s.outcome },
    h('code', {}, s.field),
    ` ${value}: `,
    h('span', { class: s.outcome === 'computed' ? 'ok' : 'bad' }, how),
    inputs ? h('span', { class: 'muted' }, ` · from ${inputs}`) : null,
  );
}
