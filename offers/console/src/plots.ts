import uPlot from 'uplot';
import { FUNNEL_STAGES, timeRange } from './series.ts';

/**
 * The console's uPlot charts (canvas, bundled into console.js; its stylesheet is served as
 * /uplot.css). Data comes shaped by series.ts.
 */
const STAGE_COLORS: Record<(typeof FUNNEL_STAGES)[number], string> = { offered: '#2f6fed', delivered: '#7b4fc9', shown: '#b26a00', purchased: '#2e7d32' };

const WIDTH = 1100;

/** Offered, delivered, shown and purchased per hour of one variant. */
export function funnelPlot(title: string, data: number[][], into: HTMLElement): uPlot {
  return new uPlot(
    {
      title,
      width: WIDTH,
      height: 220,
      scales: { x: { time: true, range: (_u, min, max) => timeRange(min, max, 3_600) }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      series: [{}, ...FUNNEL_STAGES.map((s) => ({ label: s, stroke: STAGE_COLORS[s], width: 2, points: { show: true, size: 5 } }))],
      axes: [{}, { label: 'per hour', size: 60 }],
    },
    data as uPlot.AlignedData,
    into,
  );
}

/** Live pipeline health: events/s, decisions/s and offers/s on the left axis, lag on the right. */
export function pulsePlot(data: number[][], into: HTMLElement): uPlot {
  return new uPlot(
    {
      width: WIDTH,
      height: 220,
      scales: { x: { time: true, range: (_u, min, max) => timeRange(min, max, 60) }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] }, lag: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      series: [
        {},
        { label: 'events/s', stroke: '#2f6fed', width: 2 },
        { label: 'decisions/s', stroke: '#7b4fc9', width: 2 },
        { label: 'offers/s', stroke: '#2e7d32', width: 2 },
        { label: 'processor lag', stroke: '#c62828', width: 2, dash: [4, 4], scale: 'lag' },
      ],
      axes: [{}, { label: 'per second', size: 60 }, { scale: 'lag', side: 1, label: 'messages behind', grid: { show: false }, size: 60 }],
    },
    data as uPlot.AlignedData,
    into,
  );
}
