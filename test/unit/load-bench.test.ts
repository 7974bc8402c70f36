import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { compileBundle } from '../../designer/compile.ts';
import { loadBundleDir } from '../../designer/load.ts';
import { createHistogram, encodeHistogram, mergeHistograms, recordMs, summarize } from '../../load/bench/hist.ts';
import type { LagSample } from '../../load/bench/lag.ts';
import { processorFigures } from '../../load/bench/processors.ts';
import { hotSpots } from '../../load/bench/profile.ts';
import { computeRatios, computeTargets } from '../../load/bench/report.ts';
import { writeBenchRules } from '../../load/bench/rules.ts';
import { lineChart, percentileX } from '../../load/bench/svg.ts';
import type { IngestFigures } from '../../load/bench/phases.ts';
import { comebackSequence, createEventSource } from '../../load/scenarios/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'pp-bench-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ingest(target: string, ackedPerSec: number, p99Ms: number, offered: number | 'saturation'): IngestFigures {
  const ack = { count: 1, p50Ms: 1, p99Ms, p999Ms: p99Ms, maxMs: p99Ms, meanMs: 1 };
  return {
    target,
    offeredPerSec: offered,
    players: 1,
    batchSize: 1,
    connected: 1,
    sent: 1,
    acked: 1,
    ackedPerSec,
    unacked: 0,
    errors: {},
    unexpectedCloses: 0,
    ack,
    distribution: [],
    timeline: [],
    cpuPct: {},
    edgeRssBytes: 0,
  };
}

describe('bench histograms', () => {
  it('merge what generators encode, in microseconds', () => {
    const a = createHistogram();
    const b = createHistogram();
    for (let i = 1; i <= 99; i++) recordMs(a, 1);
    recordMs(b, 100);
    const s = summarize(mergeHistograms([encodeHistogram(a), encodeHistogram(b), '']));
    expect(s.count).toBe(100);
    expect(s.p50Ms).toBeCloseTo(1, 2);
    expect(s.maxMs).toBeCloseTo(100, 0);
  });
});

describe('bench rules folder', () => {
  it('compiles, and the comeback rule has no control arm, budget or cooldown, and no global holdout', () => {
    const out = writeBenchRules('offers/rules', join(dir, 'rules'));
    const { files, diagnostics } = loadBundleDir(out);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const compiled = compileBundle(files);
    expect(compiled.ok).toBe(true);
    if (!compiled.ok) return;
    const rule = compiled.bundle.rules.find((r) => r.id === 'comeback-bundle');
    expect(rule?.experiment).toBeNull();
    expect(rule?.limits).toEqual({ cooldownMs: null, maxPerPlayer: null, budget: null });
    expect(compiled.bundle.policy.holdoutPercent).toBe(0);
    expect(parseDocument(readFileSync(join(out, 'policy.yaml'), 'utf8')).getIn(['fatigue', 'maxOffersPerDay'])).toBe(1000);
  });
});

describe('bench report', () => {
  it('computes our/peer ratios so that higher is better for us, and leaves missing ones null', () => {
    const ratios = computeRatios({
      ingest: { fixed: [ingest('ours', 10_000, 5, 10_000), ingest('ws peer', 10_000, 20, 10_000)], saturation: [ingest('ours', 60_000, 8, 'saturation'), ingest('ws peer', 20_000, 40, 'saturation')] },
      idle: [],
      processorComparison: { source: 's', events: 10, ours: 9_000, naive: 3_000, ratio: 3, stateCheck: 'ok' },
    });
    expect(ratios['processor events/s on the same events (ours / naive)']).toBe(3);
    expect(ratios['ingest events/s at saturation (ours / ws peer)']).toBe(3);
    expect(ratios['ack p99 at fixed rate (ws peer / ours)']).toBe(4);
    expect(ratios['RSS per idle connection (ws peer / ours)']).toBeNull();
    const targets = computeTargets({ ingest: { fixed: [ingest('ours', 10_000, 5, 10_000)], saturation: [ingest('ours', 60_000, 8, 'saturation')] }, idle: [], offers: [] }, ratios);
    expect(targets.find((t) => t.name.startsWith('ingest events/s'))?.met).toBe(true);
    expect(targets.find((t) => t.name.startsWith('ack p99'))?.met).toBe(true);
    expect(targets.find((t) => t.name.startsWith('event→offer'))?.met).toBeNull();
    expect(targets.find((t) => t.name.startsWith('many players'))?.met).toBeNull();
  });

  it('compares the edges by CPU per event, and holds the many-players run to its offered rate and p99', () => {
    const withCpu = (f: IngestFigures, usPerEvent: number): IngestFigures => ({ ...f, edgeCpuUsPerEvent: usPerEvent, edgeCpuUsPerFrame: usPerEvent * 2, eventsPerFrame: 2 });
    const sat = [withCpu(ingest('ours', 60_000, 8, 'saturation'), 6), withCpu(ingest('ws peer', 30_000, 9, 'saturation'), 15)];
    const many = [withCpu(ingest('ours', 19_900, 7, 20_000), 10), withCpu(ingest('ws peer', 19_950, 6, 20_000), 15)];
    const ratios = computeRatios({ ingest: { fixed: [], saturation: sat, manyPlayers: many }, idle: [], processorComparison: null });
    expect(ratios['edge CPU per event at saturation (ws peer / ours)']).toBe(2.5);
    expect(ratios['edge CPU per event, many players (ws peer / ours)']).toBe(1.5);
    const targets = computeTargets({ ingest: { fixed: [], saturation: sat, manyPlayers: many }, idle: [], offers: [] }, ratios);
    expect(targets.find((t) => t.name === 'ratio: edge CPU per event at saturation (ws peer / ours)')?.met).toBe(true);
    expect(targets.find((t) => t.name === 'ratio: edge CPU per event, many players (ws peer / ours)')?.met).toBe(false);
    expect(targets.find((t) => t.name.startsWith('many players'))).toMatchObject({ met: true, measured: '19,900 of 20,000/s, p99 7.00 ms' });
    const slow = computeTargets({ ingest: { fixed: [], saturation: sat, manyPlayers: [withCpu(ingest('ours', 15_000, 7, 20_000), 10)] }, idle: [], offers: [] }, ratios);
    expect(slow.find((t) => t.name.startsWith('many players'))?.met).toBe(false);
  });

  it('draws an SVG line chart by hand, with log axes', () => {
    const svg = lineChart({
      title: 'A <chart>',
      xLabel: 'x',
      yLabel: 'y',
      xLog: true,
      yLog: true,
      series: [{ name: 'ours', points: [[percentileX(0.5), 1], [percentileX(0.99), 10], [percentileX(1), 100]] }],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('A &lt;chart&gt;');
    expect(svg).toMatch(/<path d="M[\d.]+,[\d.]+ L/);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });
});

describe('bench processor figures', () => {
  it('derive events/s and lag from committed offsets', () => {
    const samples: LagSample[] = [0, 1, 2, 3, 4].map((i) => ({ atMs: i * 1000, endOffset: 5_000, groups: { g: { committed: i * 1000, lag: 5_000 - i * 1000 } } }));
    const f = processorFigures('ours', 'g', samples, 0, 10_000);
    expect(f?.eventsPerSec).toBe(1000);
    expect(f?.peakEventsPerSec).toBe(1000);
    expect(f?.maxLag).toBe(5_000);
    expect(f?.finalLag).toBe(1_000);
    expect(processorFigures('ours', 'other', samples, 0, 10_000)).toBeNull();
  });
});

describe('bench profiles', () => {
  it('list functions by self time', () => {
    const file = join(dir, 'p.cpuprofile');
    writeFileSync(
      file,
      JSON.stringify({
        nodes: [
          { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
          { id: 2, callFrame: { functionName: 'encode', url: 'file:///x/node_modules/msgpackr/pack.js', lineNumber: 9 } },
          { id: 3, callFrame: { functionName: 'send', url: 'file:///x/edge/producer.ts', lineNumber: 99 } },
        ],
        samples: [2, 2, 2, 3],
      }),
    );
    const top = hotSpots(file);
    expect(top[0]).toEqual({ fn: 'encode', where: 'node_modules/msgpackr/pack.js:10', selfPct: 75 });
    expect(top[1]?.selfPct).toBe(25);
  });
});

describe('shared event mix against the sample taxonomy', () => {
  it('declares every type it sends, with the fields, types and enums of offers/rules/events.yaml', () => {
    const { files } = loadBundleDir('offers/rules');
    const compiled = compileBundle(files);
    expect(compiled.ok).toBe(true);
    if (!compiled.ok) return;
    const events = [...createEventSource({ seed: 5, payloadBytes: 512, idPrefix: 't.' }).batch(1, 2_000), ...comebackSequence('p.', 3, 1)];
    for (const e of events) {
      const spec = compiled.bundle.events.get(e.type);
      expect(spec, e.type).toBeDefined();
      for (const f of spec?.fields.values() ?? []) {
        const v = e.data?.[f.name];
        if (f.required) expect(v, `${e.type}.${f.name}`).toBeDefined();
        if (v === undefined) continue;
        if (f.enum) expect(f.enum, `${e.type}.${f.name}`).toContain(v);
        else if (f.type === 'int') expect(Number.isInteger(v), `${e.type}.${f.name}`).toBe(true);
        else if (f.type === 'string') expect(typeof v, `${e.type}.${f.name}`).toBe('string');
      }
      for (const k of Object.keys(e.data ?? {})) expect(spec?.fields.has(k), `${e.type}.${k} is declared`).toBe(true);
    }
  });
});
