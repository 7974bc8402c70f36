import { api } from '../api.ts';
import { fmtTime, h } from '../dom.ts';
import { toAuditRows } from '../shapes.ts';

/** The audit log (`GET /v1/audit`): every publish, rollback and mode change, newest first. */
export async function auditView(): Promise<HTMLElement> {
  const rows = toAuditRows(await api<unknown>('GET', '/v1/audit?limit=200'));
  const table = h(
    'table',
    { id: 'audit-table' },
    h('thead', {}, h('tr', {}, ...['when', 'who', 'action', 'version', 'what changed', 'message'].map((c) => h('th', {}, c)))),
  );
  const body = h('tbody', {});
  for (const r of rows) {
    body.appendChild(
      h(
        'tr',
        { 'data-audit': r.id, 'data-action': r.action },
        h('td', {}, fmtTime(r.at)),
        h('td', {}, r.who, h('div', { class: 'muted' }, [r.role, r.via].filter(Boolean).join(', '))),
        h('td', {}, h('span', { class: `badge ${r.action === 'mode' ? 'shadow' : 'live'}` }, r.action)),
        h('td', { class: 'num' }, `${r.from || '–'} → ${r.to}`, r.restored !== null ? h('div', { class: 'muted' }, `restores ${r.restored}`) : null),
        h('td', {}, r.changes),
        h('td', { class: 'muted' }, r.message ?? ''),
      ),
    );
  }
  if (rows.length === 0) body.appendChild(h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'nothing published through the API or the CLI yet')));
  table.appendChild(body);
  return h('section', {}, h('h1', {}, 'Audit log'), h('p', { class: 'muted' }, 'Who published, rolled back or changed a rule’s mode, newest first (the latest 200).'), table);
}
