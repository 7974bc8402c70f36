/** Processor figures of a window of the run, from the lag sampler's committed offsets. */
import type { LagSample } from './lag.ts';
import type { ProcessorFigures, ProcessorPhaseFigures } from './results.ts';

/** A traffic phase's window, epoch ms. */
export interface PhaseWindow {
  readonly phase: ProcessorPhaseFigures['phase'];
  readonly target: string;
  readonly offeredPerSec: number | 'saturation';
  readonly fromMs: number;
  readonly toMs: number;
}

/** Our processors over each phase's window, one entry per group; `startedAt` is the sampler's zero (epoch ms). */
export function processorPhaseFigures(windows: readonly PhaseWindow[], samples: readonly LagSample[], startedAt: number): ProcessorPhaseFigures[] {
  const groups = [...new Set(samples.flatMap((s) => Object.keys(s.groups)))];
  const out: ProcessorPhaseFigures[] = [];
  for (const w of windows) {
    for (const group of groups) {
      const f = processorFigures(w.target, group, samples, w.fromMs - startedAt, w.toMs - startedAt);
      if (!f) continue;
      const sec = (ms: number) => Math.round((ms - startedAt) / 100) / 10;
      out.push({ phase: w.phase, target: w.target, offeredPerSec: w.offeredPerSec, group, fromSec: sec(w.fromMs), toSec: sec(w.toMs), eventsPerSec: f.eventsPerSec, maxLag: f.maxLag, finalLag: f.finalLag });
    }
  }
  return out;
}

export function processorFigures(name: string, group: string, samples: readonly LagSample[], fromMs: number, toMs: number): ProcessorFigures | null {
  const inWindow = samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs && s.groups[group]);
  if (inWindow.length < 2) return null;
  const first = inWindow[0] as LagSample;
  const last = inWindow[inWindow.length - 1] as LagSample;
  const committed = (s: LagSample) => s.groups[group]?.committed ?? 0;
  const windowSec = (last.atMs - first.atMs) / 1000;
  let peak = 0;
  for (let i = 0; i < inWindow.length; i++) {
    const a = inWindow[i] as LagSample;
    const b = inWindow.find((s) => s.atMs >= a.atMs + 3_000);
    if (!b) break;
    peak = Math.max(peak, ((committed(b) - committed(a)) * 1000) / (b.atMs - a.atMs));
  }
  return {
    name,
    group,
    eventsPerSec: windowSec > 0 ? Math.round((committed(last) - committed(first)) / windowSec) : 0,
    peakEventsPerSec: Math.round(peak),
    maxLag: Math.max(...inWindow.map((s) => s.groups[group]?.lag ?? 0)),
    finalLag: last.groups[group]?.lag ?? 0,
    windowSec: Math.round(windowSec),
    lagTimeline: samples.filter((s) => s.groups[group]).map((s) => [Math.round(s.atMs / 100) / 10, s.groups[group]?.lag ?? 0]),
  };
}
