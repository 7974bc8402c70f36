import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { compileBundle } from '../../designer/compile.ts';
import { loadBundleDir } from '../../designer/load.ts';
import { createHistogram, encodeHistogram, mergeHistograms, recordMs, summarize } from '../../load/bench/hist.ts';
import { inEvents, type LagSample } from '../../load/bench/lag.ts';
import { decisionRates } from '../../load/bench/peers.ts';
import { processorFigures, processorPhaseFigures } from '../../load/bench/processors.ts';
import { hotSpots } from '../../load/bench/profile.ts';
import { parseSteps, stepFigures } from '../../load/bench/processors-rate.ts';
import { mediansOf, parseLanes, type FloorRun } from '../../load/bench/ack-floor.ts';
import { computeRatios, computeTargets, heldRate, markdown, RULES_LIVE_RATIO } from '../../load/bench/report.ts';
import type { BenchResults, ProcessorPhaseFigures, RuleCostFigures, RulesComparison } from '../../load/bench/results.ts';
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

  it('leaves out of the ratios a peer that did not hold its offered rate, and says so under the ingest table', () => {
    const withCpu = (f: IngestFigures, usPerEvent: number): IngestFigures => ({ ...f, edgeCpuUsPerEvent: usPerEvent, edgeCpuUsPerFrame: usPerEvent, eventsPerFrame: 1 });
    // The peer acked 2 events/s of 20,000: its CPU went to a backlog, its "CPU per event" is huge and meaningless.
    const many = [withCpu(ingest('ours', 19_900, 7, 20_000), 10), withCpu(ingest('ws peer', 2, 6, 20_000), 500_000)];
    const ratios = computeRatios({ ingest: { fixed: [], saturation: [], manyPlayers: many }, idle: [], processorComparison: null });
    expect(ratios['edge CPU per event, many players (ws peer / ours)']).toBeNull();
    const targets = computeTargets({ ingest: { fixed: [], saturation: [], manyPlayers: many }, idle: [], offers: [] }, ratios);
    expect(targets.find((t) => t.name === 'ratio: edge CPU per event, many players (ws peer / ours)')).toMatchObject({ measured: 'n/a', met: null });
    expect(heldRate(many[0] as IngestFigures)).toBe(true);
    expect(heldRate(many[1] as IngestFigures)).toBe(false);
    expect(heldRate(ingest('ws peer', 100, 9, 'saturation'))).toBe(true);
    // Both held: the ratio is computed as before.
    const held = [many[0] as IngestFigures, withCpu(ingest('ws peer', 18_500, 6, 20_000), 25)];
    expect(computeRatios({ ingest: { fixed: [], saturation: [], manyPlayers: held }, idle: [], processorComparison: null })['edge CPU per event, many players (ws peer / ours)']).toBe(2.5);
  });

  it('holds the processors to the naive peers at 5×, and counts the rules-live ratio only when both sides decided every event', () => {
    const withRules: RulesComparison = { events: 10_000, ours: 30_000, naive: 5_000, oursEvents: 10_000, naiveEvents: 10_000, oursOffers: 800, naiveOffers: 800 };
    const comparison = { source: 's', events: 10_000, ours: 40_000, naive: 10_000, ratio: 4, stateCheck: 'ok', withRules };
    const ratios = computeRatios({ ingest: { fixed: [], saturation: [] }, idle: [], processorComparison: comparison });
    expect(ratios[RULES_LIVE_RATIO]).toBe(6);
    const targets = computeTargets({ ingest: { fixed: [], saturation: [] }, idle: [], offers: [] }, ratios);
    expect(targets.find((t) => t.name === `ratio: ${RULES_LIVE_RATIO}`)).toMatchObject({ target: '≥ 5×', measured: '6.00×', met: true });
    expect(targets.find((t) => t.name === 'ratio: processor events/s on the same events (ours / naive)')).toMatchObject({ target: '≥ 5×', measured: '4.00×', met: false });
    expect(targets.find((t) => t.name === 'ratio: ingest events/s at saturation (ours / ws peer)')).toMatchObject({ target: '≥ 2×', met: null });
    const short = computeRatios({ ingest: { fixed: [], saturation: [] }, idle: [], processorComparison: { ...comparison, withRules: { ...withRules, naiveEvents: 9_999 } } });
    expect(short[RULES_LIVE_RATIO]).toBeNull();
    const none = computeTargets({ ingest: { fixed: [], saturation: [] }, idle: [], offers: [] }, computeRatios({ ingest: { fixed: [], saturation: [] }, idle: [], processorComparison: null }));
    expect(none.find((t) => t.name === `ratio: ${RULES_LIVE_RATIO}`)).toMatchObject({ measured: 'n/a', met: null });
  });

  it('takes the offers engine decisions/s from its JSON line and holds the Redis path to 50,000/s', () => {
    const line = { pure: { decisionsPerSec: 120_000 }, redis: { decisionsPerSec: 8_512 }, redisWithLift: { decisionsPerSec: 6_000 }, redisWithLiveOps: { decisionsPerSec: 7_000 } };
    expect(decisionRates(line)).toEqual({ pure: 120_000, redis: 8_512, redisWithLift: 6_000, redisWithLiveOps: 7_000 });
    expect(decisionRates({ pure: { decisionsPerSec: 1 } })).toBeNull();
    expect(decisionRates(null)).toBeNull();
    const rules = (redis: number): RuleCostFigures => ({ source: 's', lines: [], figures: null, decisionsPerSec: { pure: 120_000, redis, redisWithLift: null, redisWithLiveOps: null } });
    const row = (r: RuleCostFigures | null) => computeTargets({ ingest: { fixed: [], saturation: [] }, idle: [], offers: [], rules: r }, {}).find((t) => t.name.startsWith('offers engine decisions/s through Redis'));
    expect(row(rules(8_512))).toMatchObject({ target: '≥ 50,000', measured: "8,512 (0.07× the pure evaluation's 120,000)", met: false });
    expect(row(rules(60_000))?.met).toBe(true);
    expect(row(null)).toMatchObject({ measured: 'not run', met: null });
  });

  it('holds the processors to a lag of 5,000 at 10,000/s and to the edge\'s acked rate at saturation, per phase window', () => {
    const phase = (p: Partial<ProcessorPhaseFigures> & Pick<ProcessorPhaseFigures, 'phase' | 'offeredPerSec'>): ProcessorPhaseFigures => ({ target: 'ours', group: 'g', fromSec: 0, toSec: 10, eventsPerSec: 10_000, maxLag: 0, finalLag: 0, ...p });
    const sat = [ingest('ours', 40_000, 900, 'saturation')];
    const targetsOf = (processorPhases: ProcessorPhaseFigures[] | undefined) => {
      const t = computeTargets({ ingest: { fixed: [], saturation: sat }, idle: [], offers: [], processorPhases }, {});
      return { lag: t.find((x) => x.name.startsWith("processors' max lag")), keepUp: t.find((x) => x.name.startsWith("processors' mean events/s at saturation")) };
    };
    const met = targetsOf([
      phase({ phase: 'fixed', offeredPerSec: 10_000, maxLag: 1_200 }),
      phase({ phase: 'fixed', target: 'ws peer', offeredPerSec: 10_000, maxLag: 90_000 }),
      phase({ phase: 'offers', offeredPerSec: 1_000, maxLag: 70_000 }),
      phase({ phase: 'offers', offeredPerSec: 10_000, maxLag: 3_000 }),
      phase({ phase: 'saturation', offeredPerSec: 'saturation', eventsPerSec: 42_000, maxLag: 300_000 }),
    ]);
    expect(met.lag).toMatchObject({ target: '≤ 5,000 events at 10,000/s', measured: '3,000 events (fixed rate 1,200; event→offer 3,000)', met: true });
    expect(met.keepUp).toMatchObject({ measured: '42,000 against 40,000 acked/s (1.05×)', met: true });
    const notMet = targetsOf([phase({ phase: 'fixed', offeredPerSec: 10_000, maxLag: 5_001 }), phase({ phase: 'saturation', offeredPerSec: 'saturation', eventsPerSec: 20_000 })]);
    expect(notMet.lag?.met).toBe(false);
    expect(notMet.keepUp).toMatchObject({ measured: '20,000 against 40,000 acked/s (0.50×)', met: false });
    const slower = targetsOf([phase({ phase: 'fixed', offeredPerSec: 5_000, maxLag: 100 })]);
    expect(slower.lag?.name).toContain('at 5,000 events/s offered');
    expect(slower.lag?.met).toBeNull();
    const notRun = targetsOf(undefined);
    expect(notRun.lag).toMatchObject({ measured: 'not run', met: null });
    expect(notRun.keepUp).toMatchObject({ measured: 'not run', met: null });
  });

  it('shows the processors per phase and the rules-live comparison in the Markdown', () => {
    const r = {
      runId: 'q1',
      mode: 'quick',
      startedAt: 'now',
      machine: { cores: 2, cpuModel: 'cpu', memoryGiB: 1, kernel: 'k', node: 'v20', kafka: '4', redis: '7', openFilesLimit: { soft: 1, hard: 1 }, loadAvgAtStart: [0, 0, 0] },
      ingest: { fixed: [], saturation: [] },
      offers: [],
      idle: [],
      processors: [],
      processorPhases: [{ phase: 'fixed', target: 'ours', offeredPerSec: 10_000, group: 'g', fromSec: 1.5, toSec: 9, eventsPerSec: 9_990, maxLag: 1_234, finalLag: 0 }],
      processorComparison: { source: 's', events: 10_000, ours: 40_000, naive: 10_000, ratio: 4, stateCheck: 'ok', withRules: { events: 10_000, ours: 30_000, naive: 5_000, oursEvents: 10_000, naiveEvents: 10_000, oursOffers: 800, naiveOffers: 799 } },
      rules: null,
      ratios: {},
      targets: [],
      profiles: {},
      notes: [],
    } as unknown as BenchResults;
    const md = markdown(r);
    expect(md).toContain('| fixed | ours | 10,000 | g | 1.5–9 | 9,990 | 1,234 | 0 |');
    expect(md).toContain('| ours, offers decider on | live | 10,000 | 30,000 | 800 |');
    expect(md).toContain('| naive per-event decide (load/peers/naive-decider.ts) | live | 10,000 | 5,000 | 799 |');
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

  it('count events, not records, when our edges write a record per frame', () => {
    // 10 records of 50 events each per second, then 1,000 one-event records (the ws peer) per second.
    const samples: LagSample[] = [
      { atMs: 0, endOffset: 0, extraEvents: 0, groups: { g: { committed: 0, lag: 0 } } },
      { atMs: 1000, endOffset: 10, extraEvents: 490, groups: { g: { committed: 5, lag: 5 } } },
      { atMs: 2000, endOffset: 1010, extraEvents: 490, groups: { g: { committed: 10, lag: 1000 } } },
      { atMs: 3000, endOffset: 1010, extraEvents: 490, groups: { g: { committed: 1010, lag: 0 } } },
    ];
    const events = inEvents(samples);
    expect(events.map((s) => s.endOffset)).toEqual([0, 500, 1500, 1500]);
    expect(events.map((s) => s.groups.g)).toEqual([
      { committed: 0, lag: 0 },
      { committed: 250, lag: 250 },
      { committed: 500, lag: 1000 },
      { committed: 1500, lag: 0 },
    ]);
    expect(processorFigures('ours', 'g', events, 0, 10_000)?.eventsPerSec).toBe(500);
    // Without the edges' counters, the figures stay in records.
    const plain = samples.map(({ extraEvents: _x, ...s }) => s);
    expect(inEvents(plain)).toEqual(plain);
  });

  it('per phase: each window against the sampler\'s zero, one entry per group, phases too short left out', () => {
    const samples: LagSample[] = [0, 1, 2, 3, 4].map((i) => ({ atMs: i * 1000, endOffset: 5_000, groups: { g: { committed: i * 1000, lag: i === 1 ? 7_000 : 100 } } }));
    const zero = 1_700_000_000_000;
    const out = processorPhaseFigures(
      [
        { phase: 'fixed', target: 'ours', offeredPerSec: 10_000, fromMs: zero + 500, toMs: zero + 2_500 },
        { phase: 'saturation', target: 'ours', offeredPerSec: 'saturation', fromMs: zero + 2_500, toMs: zero + 4_000 },
        { phase: 'offers', target: 'ours', offeredPerSec: 1_000, fromMs: zero + 4_500, toMs: zero + 4_900 },
      ],
      samples,
      zero,
    );
    expect(out).toEqual([
      { phase: 'fixed', target: 'ours', offeredPerSec: 10_000, group: 'g', fromSec: 0.5, toSec: 2.5, eventsPerSec: 1000, maxLag: 7_000, finalLag: 100 },
      { phase: 'saturation', target: 'ours', offeredPerSec: 'saturation', group: 'g', fromSec: 2.5, toSec: 4, eventsPerSec: 1000, maxLag: 100, finalLag: 100 },
    ]);
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

describe('processors at a fixed rate', () => {
  it('reads steps as <events per frame>x<events per second> and refuses anything else with a clear error', () => {
    expect(parseSteps('1x200, 10x1000,100x2000')).toEqual([
      { frame: 1, rate: 200 },
      { frame: 10, rate: 1000 },
      { frame: 100, rate: 2000 },
    ]);
    for (const bad of ['10', 'x100', '0x100', '2000x10', '10x0', '10x1000,']) {
      expect(() => parseSteps(bad), bad).toThrow(/--steps: ".*" is not/);
    }
  });

  it('splits the CPU of a step over the events and chunks the processors counted in it', () => {
    const f = stepFigures({ frame: 10, rate: 1000 }, { cpu: 1_000, sum: 500, count: 40 }, { cpu: 7_000, sum: 15_500, count: 1_340 }, 20_000, true);
    expect(f).toMatchObject({ events: 15_000, chunks: 1_300, eventsPerChunk: 11.5, cpuMs: 6_000, cpuPct: 30, cpuUsPerEvent: 400, cpuUsPerChunk: 4_615, drained: true });
    expect(stepFigures({ frame: 1, rate: 1 }, { cpu: 5, sum: 0, count: 0 }, { cpu: 5, sum: 0, count: 0 }, 0, false)).toMatchObject({ events: 0, eventsPerChunk: 0, cpuPct: 0, cpuUsPerEvent: 0, cpuUsPerChunk: 0 });
  });
});

describe('ack floor', () => {
  it('parses the lanes, refusing what is not a small positive integer', () => {
    expect(parseLanes('1,2,4')).toEqual([1, 2, 4]);
    expect(parseLanes(' 2 , 1,2')).toEqual([2, 1]);
    for (const bad of ['', '0', '1,,2', '1.5', '-1', 'two', '65']) expect(() => parseLanes(bad), bad).toThrow(/--lanes takes positive integers/);
  });

  it('takes the medians per client and lane count', () => {
    const run = (client: FloorRun['client'], lanes: number, round: number, ackP99Ms: number): FloorRun => ({ client, lanes, round, records: 100 + round, sends: 90, sendP50Ms: 1, sendP99Ms: round, ackP50Ms: 2, ackP99Ms, ackP999Ms: 20 });
    const runs = [run('kafkajs', 1, 1, 9), run('platformatic', 1, 1, 7), run('kafkajs', 1, 2, 11), run('platformatic', 1, 2, 8), run('kafkajs', 1, 3, 30), run('kafkajs', 2, 1, 12)];
    const medians = mediansOf(runs);
    expect(medians.map((m) => [m.client, m.lanes, m.ackP99Ms, m.sendP99Ms, m.records])).toEqual([
      ['kafkajs', 1, 11, 2, 102],
      ['platformatic', 1, 7.5, 1.5, 102],
      ['kafkajs', 2, 12, 1, 101],
    ]);
  });
});
