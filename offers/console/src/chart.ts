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
