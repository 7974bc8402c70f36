/**
 * Grouped horizontal bar chart as inline SVG: one group per label, one bar per series.
 * `barLayout` is pure (tested); `barChart` turns it into SVG elements.
 */
export interface Series {
  readonly name: string;
  readonly color: string;
  readonly values: readonly number[];
}

export interface Bar {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly value: number;
  readonly series: number;
  readonly group: number;
}

export interface Layout {
  readonly width: number;
  readonly height: number;
  readonly labelWidth: number;
  readonly bars: readonly Bar[];
  readonly groups: readonly { readonly label: string; readonly y: number }[];
}

const BAR_H = 14;
const GAP = 4;
const GROUP_GAP = 12;

export function barLayout(labels: readonly string[], series: readonly Series[], width = 720, labelWidth = 200): Layout {
  const max = Math.max(1, ...series.flatMap((s) => s.values.filter((v) => Number.isFinite(v))));
  const plot = width - labelWidth - 70;
  const bars: Bar[] = [];
  const groups: { label: string; y: number }[] = [];
  let y = GROUP_GAP / 2;
  labels.forEach((label, g) => {
    groups.push({ label, y: y + (series.length * (BAR_H + GAP) - GAP) / 2 });
    series.forEach((s, i) => {
      const value = Number.isFinite(s.values[g]) ? (s.values[g] as number) : 0;
      bars.push({ x: labelWidth, y, width: Math.max(value > 0 ? 1 : 0, (value / max) * plot), height: BAR_H, value, series: i, group: g });
      y += BAR_H + GAP;
    });
    y += GROUP_GAP - GAP;
  });
  return { width, height: Math.ceil(y + GROUP_GAP / 2), labelWidth, bars, groups };
}

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export function barChart(title: string, labels: readonly string[], series: readonly Series[]): SVGElement {
  const layout = barLayout(labels, series);
  const root = svg('svg', { class: 'chart', width: layout.width, height: layout.height, viewBox: `0 0 ${layout.width} ${layout.height}`, role: 'img' });
  root.appendChild(svg('title', {}, title));
  for (const g of layout.groups) {
    root.appendChild(svg('text', { x: layout.labelWidth - 8, y: g.y + 4, 'text-anchor': 'end' }, g.label));
  }
  for (const b of layout.bars) {
    const s = series[b.series];
    root.appendChild(svg('rect', { x: b.x, y: b.y, width: b.width, height: b.height, fill: s?.color ?? '#888', rx: 2 }));
    root.appendChild(svg('text', { x: b.x + b.width + 4, y: b.y + b.height - 3 }, b.value.toLocaleString('en-US')));
  }
  return root;
}

/** One row of a lift chart: a variant's lift with its 95 % interval (null ends: no interval yet). */
export interface LiftPoint {
  readonly label: string;
  readonly lift: number;
  readonly low: number | null;
  readonly high: number | null;
}

export interface LiftLayout {
  readonly width: number;
  readonly height: number;
  /** x of lift 0. */
  readonly zero: number;
  /** x where the values are written, right of the plot. */
  readonly textX: number;
  readonly rows: readonly { readonly label: string; readonly y: number; readonly x: number; readonly x1: number | null; readonly x2: number | null; readonly tone: 'ok' | 'bad' | '' }[];
}

/**
 * Lift per variant as a dot with its interval as an error bar, on one axis that always
 * holds zero and every end. Green only when the interval is all above zero, red only when
 * all below.
 */
export function liftLayout(points: readonly LiftPoint[], width = 720, labelWidth = 200): LiftLayout {
  const ends = points.flatMap((p) => [p.lift, p.low, p.high]).filter((v): v is number => v !== null && Number.isFinite(v));
  const lo = Math.min(0, ...ends);
  const hi = Math.max(0, ...ends);
  const span = hi - lo || 1;
  const plot = width - labelWidth - 200;
  const xOf = (v: number) => labelWidth + ((v - lo) / span) * plot;
  const rows = points.map((p, i) => ({
    label: p.label,
    y: 14 + i * 26,
    x: xOf(p.lift),
    x1: p.low === null ? null : xOf(p.low),
    x2: p.high === null ? null : xOf(p.high),
    tone: (p.low !== null && p.low > 0 ? 'ok' : p.high !== null && p.high < 0 ? 'bad' : '') as 'ok' | 'bad' | '',
  }));
  return { width, height: 28 + points.length * 26, zero: xOf(0), textX: labelWidth + plot + 12, rows };
}

const TONE = { ok: '#2e7d32', bad: '#c62828', '': '#2f6fed' } as const;

export function liftChart(title: string, points: readonly LiftPoint[], fmt: (x: number) => string): SVGElement {
  const layout = liftLayout(points);
  const root = svg('svg', { class: 'chart lift', width: layout.width, height: layout.height, viewBox: `0 0 ${layout.width} ${layout.height}`, role: 'img' });
  root.appendChild(svg('title', {}, title));
  root.appendChild(svg('line', { x1: layout.zero, x2: layout.zero, y1: 0, y2: layout.height - 14, stroke: '#9aa3b5', 'stroke-dasharray': '3 3' }));
  root.appendChild(svg('text', { x: layout.zero, y: layout.height - 2, 'text-anchor': 'middle' }, '0 (holdout)'));
  layout.rows.forEach((r, i) => {
    const p = points[i] as LiftPoint;
    const color = TONE[r.tone];
    root.appendChild(svg('text', { x: 192, y: r.y + 4, 'text-anchor': 'end' }, r.label));
    if (r.x1 !== null && r.x2 !== null) {
      root.appendChild(svg('line', { x1: r.x1, x2: r.x2, y1: r.y, y2: r.y, stroke: color, 'stroke-width': 2, 'data-ci': `${p.low}..${p.high}` }));
      for (const x of [r.x1, r.x2]) root.appendChild(svg('line', { x1: x, x2: x, y1: r.y - 5, y2: r.y + 5, stroke: color, 'stroke-width': 2 }));
    }
    root.appendChild(svg('circle', { cx: r.x, cy: r.y, r: 4, fill: color, 'data-lift': p.lift }));
    const ci = p.low !== null && p.high !== null ? ` (${fmt(p.low)} … ${fmt(p.high)})` : ' (too few players)';
    root.appendChild(svg('text', { x: layout.textX, y: r.y + 4 }, `${fmt(p.lift)}${ci}`));
  });
  return root;
}
