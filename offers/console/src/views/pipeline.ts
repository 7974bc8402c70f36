import { api } from '../api.ts';
import { h } from '../dom.ts';
import { pulsePlot } from '../plots.ts';
import { PulseRing, toPulsePoint, type PulsePoint } from '../series.ts';

/** The processors write their pulse every 2 s (processors/pulse.ts); the panel polls as often. */
const POLL_MS = 2_000;
/** Ten minutes of samples. */
const KEPT = 300;

const rate = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));

/** The samples seen since the page opened: they outlive the panel, so the chart keeps its history across tabs. */
const ring = new PulseRing(KEPT);
let instancesSeen = 0;

/**
 * Live pipeline health on the landing page: events/s, processor lag, decisions/s and
 * offers/s (`GET /v1/pipeline/health`), the current values and a chart of the samples seen
 * since the page opened. Polls while the panel is on the page.
 */
export function pipelinePanel(): HTMLElement {
  const cells = {
    events: h('strong', { 'data-pulse': 'events' }, '–'),
    lag: h('strong', { 'data-pulse': 'lag' }, '–'),
    decisions: h('strong', { 'data-pulse': 'decisions' }, '–'),
    offers: h('strong', { 'data-pulse': 'offers' }, '–'),
  };
  const status = h('span', { class: 'muted', id: 'pulse-status' }, 'waiting for the processors’ first sample…');
  const plot = h('div', { class: 'plot', id: 'pulse-plot' });
  const panel = h(
    'section',
    { class: 'card', id: 'pipeline' },
    h('h2', {}, 'Pipeline health'),
    h(
      'div',
      { class: 'row stats' },
      h('span', {}, 'events/s ', cells.events),
      h('span', {}, 'processor lag ', cells.lag),
      h('span', {}, 'decisions/s ', cells.decisions),
      h('span', {}, 'offers/s ', cells.offers),
      status,
    ),
    plot,
  );
  const chart = pulsePlot(ring.data(), plot);
  const show = (p: PulsePoint) => {
    const instances = instancesSeen;
    cells.events.textContent = rate(p.eventsPerSec);
    cells.lag.textContent = Math.round(p.lag).toLocaleString('en-US');
    cells.decisions.textContent = rate(p.decisionsPerSec);
    cells.offers.textContent = rate(p.offersPerSec);
    status.textContent = `${instances} processors instance${instances === 1 ? '' : 's'}; rates over each one’s latest 2 s`;
    const data = ring.data();
    panel.dataset.samples = String(data[0]?.length ?? 0);
    panel.dataset.latest = JSON.stringify(p);
    panel.dataset.peak = JSON.stringify({ eventsPerSec: Math.max(...(data[1] ?? [])), decisionsPerSec: Math.max(...(data[2] ?? [])), offersPerSec: Math.max(...(data[3] ?? [])) });
  };
  if (ring.latest) show(ring.latest);
  let started = false;
  const tick = async () => {
    if (started && !panel.isConnected) return;
    started = true;
    try {
      const body = await api<{ instances?: unknown[] }>('GET', '/v1/pipeline/health');
      const point = toPulsePoint(body);
      if (ring.push(point)) {
        instancesSeen = Array.isArray(body.instances) ? body.instances.length : 0;
        chart.setData(ring.data() as Parameters<typeof chart.setData>[0]);
        show(point);
      } else if (point.at === 0) {
        status.textContent = 'no processors instance has written a pulse in the last 10 s';
      }
    } catch (err) {
      status.textContent = (err as Error).message;
    }
    setTimeout(() => void tick(), POLL_MS);
  };
  void tick();
  return panel;
}
