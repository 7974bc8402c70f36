import { api } from '../api.ts';
import { h } from '../dom.ts';
import { toSegmentRows } from '../shapes.ts';

/** The published segments (`GET /v1/segments`): condition, daily cap and today's approximate size. */
export async function segmentsView(): Promise<HTMLElement> {
  const { day, rows } = toSegmentRows(await api<unknown>('GET', '/v1/segments'));
  const table = h(
    'table',
    { id: 'segments-table' },
    h('thead', {}, h('tr', {}, ...['segment', 'condition', 'daily cap', `players today (${day} UTC)`].map((c) => h('th', {}, c)))),
  );
  const body = h('tbody', {});
  for (const r of rows) {
    body.appendChild(
      h(
        'tr',
        { 'data-segment': r.name },
        h('td', {}, r.name, r.description ? h('div', { class: 'muted' }, r.description) : null),
        h('td', {}, h('code', {}, r.condition)),
        h('td', { class: 'num' }, r.maxOffersPerDay === null ? '–' : String(r.maxOffersPerDay)),
        h('td', { class: 'num' }, r.active ? `≈ ${r.today}` : h('span', { class: 'muted' }, 'not evaluated: no rule or cap names it')),
      ),
    );
  }
  if (rows.length === 0) body.appendChild(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'the published bundle has no segments.yaml')));
  table.appendChild(body);
  return h(
    'section',
    {},
    h('h1', {}, 'Segments'),
    h('p', { class: 'muted' }, 'Named groups of players (segments.yaml). Rules read them as segment.<name>; the size is the number of players decisions found in the segment today, approximately.'),
    table,
  );
}
