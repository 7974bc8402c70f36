/**
 * Turns a run's figures into the Markdown table printed and written beside the JSON, the
 * our/peer ratios, the targets of the load issue with what was measured, and the charts.
 */
import type { IngestFigures } from './phases.ts';
import type { BenchResults, ProcessorPhaseFigures, Target } from './results.ts';
import { lineChart, PERCENTILE_TICKS, percentileX, type Series } from './svg.ts';

const n = (v: number) => Math.round(v).toLocaleString('en-US');
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const kb = (bytes: number | null) => (bytes === null ? 'n/a' : `${(bytes / 1024).toFixed(2)} KB`);
const ratio = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(2)}×`);

function byTarget<T extends { target: string }>(list: readonly T[], name: string): T | undefined {
  return list.find((x) => x.target === name);
}

export const RULES_LIVE_RATIO = 'processors with rules live (ours / naive per-event decide)';

/** The ratios the load issue wants at 5× or more; the others at 2×. */
const FIVE_TIMES = new Set(['processor events/s on the same events (ours / naive)', RULES_LIVE_RATIO]);

/** Share of its offered rate a fixed-rate run must ack for its CPU per event and latency to be compared. */
export const HELD_RATE = 0.9;

/**
 * Whether a run carried what it was offered: saturation runs always (they take what they
 * can); a fixed-rate run when it acked at least HELD_RATE of its rate. An edge that did not
 * (it stopped acking, its sends queued up) spent its CPU on a backlog, so its CPU per event
 * is not comparable, and neither is a ratio made from it.
 */
export function heldRate(f: IngestFigures): boolean {
  return f.offeredPerSec === 'saturation' || f.ackedPerSec >= HELD_RATE * f.offeredPerSec;
}

export function computeRatios(r: Pick<BenchResults, 'ingest' | 'idle' | 'processorComparison'>): Record<string, number | null> {
  const div = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : null);
  const sat = (name: string) => byTarget(r.ingest.saturation, name);
  const fix = (name: string) => byTarget(r.ingest.fixed, name);
  const idle = (name: string) => byTarget(r.idle, name);
  // A run that did not hold its offered rate is left out of the ratios (see heldRate).
  const many = (name: string) => {
    const f = byTarget(r.ingest.manyPlayers ?? [], name);
    return f && heldRate(f) ? f : undefined;
  };
  const rulesLive = r.processorComparison?.withRules ?? null;
  return {
    'ingest events/s at saturation (ours / ws peer)': div(sat('ours')?.ackedPerSec, sat('ws peer')?.ackedPerSec),
    'edge CPU per event at saturation (ws peer / ours)': div(sat('ws peer')?.edgeCpuUsPerEvent, sat('ours')?.edgeCpuUsPerEvent),
    'edge CPU per event, many players (ws peer / ours)': div(many('ws peer')?.edgeCpuUsPerEvent, many('ours')?.edgeCpuUsPerEvent),
    'ack p99 at fixed rate (ws peer / ours)': div(fix('ws peer')?.ack.p99Ms, fix('ours')?.ack.p99Ms),
    'ack p99 at saturation (ws peer / ours)': div(sat('ws peer')?.ack.p99Ms, sat('ours')?.ack.p99Ms),
    'RSS per idle connection (ws peer / ours)': div(idle('ws peer')?.rssPerConnBytes, idle('ours')?.rssPerConnBytes),
    'processor events/s on the same events (ours / naive)': div(r.processorComparison?.ours, r.processorComparison?.naive),
    [RULES_LIVE_RATIO]: rulesLive && rulesLive.oursEvents >= rulesLive.events && rulesLive.naiveEvents >= rulesLive.events ? div(rulesLive.ours, rulesLive.naive) : null,
  };
}

/** Our processors over the windows of one kind of phase driven through our edge: the worst group of each, the highest offered rate's windows only. */
function phaseWindows(list: readonly ProcessorPhaseFigures[], phase: ProcessorPhaseFigures['phase']): ProcessorPhaseFigures[] {
  const mine = list.filter((p) => p.phase === phase && p.target === 'ours');
  const top = Math.max(...mine.map((p) => (p.offeredPerSec === 'saturation' ? Infinity : p.offeredPerSec)));
  return mine.filter((p) => (p.offeredPerSec === 'saturation' ? Infinity : p.offeredPerSec) === top);
}

/** The decision path of the load issue: the offers engine through Redis, and the processors keeping up with the edge. */
function decisionPathTargets(r: Partial<Pick<BenchResults, 'rules' | 'processorPhases' | 'ingest'>>): Target[] {
  const out: Target[] = [];
  const d = r.rules?.decisionsPerSec ?? null;
  out.push({
    name: 'offers engine decisions/s through Redis (load/bench/offers-engine.ts: 50 rules, batches of 1,000)',
    target: '≥ 50,000',
    measured: d ? `${n(d.redis)} (${ratio(d.pure > 0 ? d.redis / d.pure : null)} the pure evaluation's ${n(d.pure)})` : 'not run',
    met: d ? d.redis >= 50_000 : null,
  });
  const phases = r.processorPhases ?? [];
  const lagged = [...phaseWindows(phases, 'fixed'), ...phaseWindows(phases, 'offers')];
  const rates = [...new Set(lagged.map((p) => p.offeredPerSec))];
  const worst = lagged.reduce((m, p) => Math.max(m, p.maxLag), 0);
  const per = (phase: string, label: string) => {
    const w = lagged.filter((p) => p.phase === phase);
    return w.length ? [`${label} ${n(Math.max(...w.map((p) => p.maxLag)))}`] : [];
  };
  out.push({
    name: `processors' max lag at ${rates.length ? rates.map((v) => n(Number(v))).join(' and ') : '10,000'} events/s offered, sample rules live (windows: fixed-rate ingest through our edge, and event→offer; warm-up included)`,
    target: '≤ 5,000 events at 10,000/s',
    measured: lagged.length ? `${n(worst)} events (${[...per('fixed', 'fixed rate'), ...per('offers', 'event→offer')].join('; ')})` : 'not run',
    met: lagged.length && rates.every((v) => v === 10_000) ? worst <= 5_000 : null,
  });
  const sat = byTarget(r.ingest?.saturation ?? [], 'ours');
  const satWindow = phaseWindows(phases, 'saturation');
  const consumed = satWindow.length ? Math.min(...satWindow.map((p) => p.eventsPerSec)) : null;
  const keepUp = sat && consumed !== null && sat.ackedPerSec > 0 ? consumed / sat.ackedPerSec : null;
  out.push({
    name: "processors' mean events/s at saturation against the edge's acked events/s (window: the saturation phase through our edge, warm-up included)",
    target: '≥ 1× (they keep up)',
    measured: keepUp !== null && sat && consumed !== null ? `${n(consumed)} against ${n(sat.ackedPerSec)} acked/s (${ratio(keepUp)})` : 'not run',
    met: keepUp === null ? null : keepUp >= 1,
  });
  return out;
}

export function computeTargets(r: Pick<BenchResults, 'ingest' | 'idle' | 'offers' | 'memory' | 'tracing'> & Partial<Pick<BenchResults, 'rules' | 'processorPhases'>>, ratios: Record<string, number | null>): Target[] {
  const out: Target[] = [];
  const mem = r.memory?.stages ?? [];
  const worst = mem.reduce((m, s) => Math.max(m, s.corePerPlayer), 0);
  const worstAll = mem.reduce((m, s) => Math.max(m, s.totalPerPlayer), 0);
  out.push({
    name: 'Redis bytes per player: state, limits, windows, de-duplication, recent explanations (sample game, any event count)',
    target: '≤ 2,048',
    measured: mem.length ? `${n(worst)} B (worst of ${mem.map((s) => n(s.eventsPerPlayer)).join(', ')} events; every key: ${n(worstAll)} B)` : 'not run',
    met: mem.length ? worst <= 2_048 : null,
  });
  const profile = mem.reduce((m, s) => Math.max(m, s.byKind.state ?? 0), 0);
  out.push({
    name: 'live profile bytes per player (state hash)',
    target: '≤ 512',
    measured: mem.length ? `${n(profile)} B (${r.memory?.properties ?? 0} properties)` : 'not run',
    met: mem.length ? profile <= 512 : null,
  });
  const sat = byTarget(r.ingest.saturation, 'ours');
  const fix = byTarget(r.ingest.fixed, 'ours');
  const idle = byTarget(r.idle, 'ours');
  out.push({
    name: 'ingest events/s acked (whole stack)',
    target: '≥ 50,000',
    measured: sat ? n(sat.ackedPerSec) : 'not run',
    met: sat ? sat.ackedPerSec >= 50_000 : null,
  });
  out.push({
    name: `ack p99 at ${fix ? n(Number(fix.offeredPerSec)) : '10k'} events/s offered`,
    target: '≤ 10 ms at 10,000/s',
    measured: fix ? `${ms(fix.ack.p99Ms)} ms` : 'not run',
    met: fix && fix.offeredPerSec === 10_000 ? fix.ack.p99Ms <= 10 : null,
  });
  const off = r.offers.find((o) => o.backgroundPerSec === 10_000) ?? r.offers[0];
  out.push({
    name: `event→offer p99 at ${off ? n(off.backgroundPerSec) : '10k'} events/s`,
    target: '≤ 20 ms at 10,000/s',
    measured: off ? `${ms(off.eventToOffer.p99Ms)} ms (${n(off.offers)}/${n(off.sequences)} offers)` : 'not run',
    met: off && off.backgroundPerSec === 10_000 && off.offers > 0 ? off.eventToOffer.p99Ms <= 20 : null,
  });
  const many = byTarget(r.ingest.manyPlayers ?? [], 'ours');
  out.push({
    name: `many players (${many ? n(many.players) : '15,000'} sockets, small frames): offered rate held, ack p99`,
    target: '≥ 99% of offered acked, p99 ≤ 10 ms',
    measured: many ? `${n(many.ackedPerSec)} of ${n(Number(many.offeredPerSec))}/s, p99 ${ms(many.ack.p99Ms)} ms` : 'not run',
    met: many && many.offeredPerSec !== 'saturation' ? many.ackedPerSec >= 0.99 * many.offeredPerSec && many.ack.p99Ms <= 10 : null,
  });
  out.push({
    name: 'idle connections on one edge process',
    target: '100,000',
    measured: idle ? `${n(idle.held)} held (asked ${n(idle.asked)})` : 'not run',
    met: idle ? idle.held >= 100_000 : null,
  });
  out.push({
    name: 'RSS per idle connection',
    target: '≤ 4 KB',
    measured: idle ? kb(idle.rssPerConnBytes) : 'not run',
    met: idle && idle.held > 0 ? idle.rssPerConnBytes <= 4096 : null,
  });
  const t = r.tracing ?? null;
  out.push({
    name: `tracing at ${t ? `${t.sampleRate * 100}%` : '1%'} of frames: edge CPU per event against tracing off`,
    target: '≤ 1.03×',
    measured: t?.edgeCpuRatio != null ? `${t.edgeCpuRatio.toFixed(3)}× (${t.median.on.edgeCpuUsPerEvent.toFixed(2)} against ${t.median.off.edgeCpuUsPerEvent.toFixed(2)} µs, median of ${t.rounds.length / 2} rounds each)` : 'not run',
    met: t?.edgeCpuRatio != null ? t.edgeCpuRatio <= 1.03 : null,
  });
  out.push(...decisionPathTargets(r));
  for (const [name, v] of Object.entries(ratios)) {
    const want = FIVE_TIMES.has(name) ? 5 : 2;
    out.push({ name: `ratio: ${name}`, target: `≥ ${want}×`, measured: ratio(v), met: v === null ? null : v >= want });
  }
  return out;
}

function ingestRow(label: string, f: IngestFigures): string {
  const errs = Object.entries(f.errors)
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
  const cpu = Object.entries(f.cpuPct)
    .map(([k, v]) => `${k} ${v}%`)
    .join(', ');
  const us = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v.toFixed(1) : '–');
  const perEvent = `${us(f.edgeCpuUsPerEvent)} / ${us(f.edgeCpuUsPerFrame)} (${f.eventsPerFrame !== undefined && Number.isFinite(f.eventsPerFrame) ? f.eventsPerFrame.toFixed(1) : '–'})`;
  return `| ${label} | ${f.target} | ${f.offeredPerSec === 'saturation' ? 'saturation' : n(f.offeredPerSec)} | ${n(f.ackedPerSec)} | ${ms(f.ack.p50Ms)} | ${ms(f.ack.p99Ms)} | ${ms(f.ack.p999Ms)} | ${n(f.unacked)} | ${errs || '0'} | ${perEvent} | ${cpu} |`;
}

export function markdown(r: BenchResults): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push(`### Bench ${r.runId} (${r.mode}), ${r.startedAt}`);
  lines.push('');
  lines.push(
    `Machine: ${m.cores} cores ${m.cpuModel}, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}, Kafka ${m.kafka}, Redis ${m.redis}, open files ${m.openFilesLimit.soft}/${m.openFilesLimit.hard}, load average at start ${m.loadAvgAtStart.join(' ')}. Everything (Kafka, Redis, the system under test, peers, load generators) on this one machine, loopback only.`,
  );
  lines.push('');
  lines.push('**Ingest** (events acked by the edge, durably in Kafka; latency from the intended send to the ack)');
  lines.push('');
  lines.push('| run | target | offered/s | acked/s | p50 ms | p99 ms | p99.9 ms | unacked | errors | edge CPU µs per event / per frame (events per frame) | CPU (% of one core) |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---|---|---|');
  for (const f of r.ingest.fixed) lines.push(ingestRow('fixed rate', f));
  for (const f of r.ingest.saturation) lines.push(ingestRow('saturation', f));
  for (const f of r.ingest.manyPlayers ?? []) lines.push(ingestRow(`many players (${n(f.players)}, 1–3 events every 1–2 s)`, f));
  for (const f of r.ingest.smallFrames ?? []) lines.push(ingestRow('one-event frames', f));
  lines.push('');
  const collapsed = [...r.ingest.fixed.map((f) => ['fixed rate', f] as const), ...(r.ingest.manyPlayers ?? []).map((f) => ['many players', f] as const), ...(r.ingest.smallFrames ?? []).map((f) => ['one-event frames', f] as const)].filter(([, f]) => !heldRate(f));
  for (const [label, f] of collapsed) {
    lines.push(`- ${label}, ${f.target}: acked ${n(f.ackedPerSec)} of ${n(Number(f.offeredPerSec))} events/s offered (under ${HELD_RATE * 100}%): the edge did not hold the rate, so its CPU per event and latency are not comparable, and ratios made from them are left out (n/a).`);
  }
  if (collapsed.length > 0) lines.push('');
  if (r.offers.length > 0) {
    lines.push('**Event → offer** (fresh players play the comeback sequence at a fixed rate beside background ingest at a fixed rate, from the end of the background\'s warm-up, the window of its ack figures; from the triggering event\'s send to the offer\'s arrival)');
    lines.push('');
    lines.push('| target | background events/s | sequences/s | sequences | offers | p50 ms | p99 ms | p99.9 ms | max ms | background acked/s | background ack p99 ms |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const o of r.offers) {
      lines.push(
        `| ${o.target} | ${n(o.backgroundPerSec)} | ${o.sequencesPerSec} | ${n(o.sequences)} | ${n(o.offers)} | ${ms(o.eventToOffer.p50Ms)} | ${ms(o.eventToOffer.p99Ms)} | ${ms(o.eventToOffer.p999Ms)} | ${ms(o.eventToOffer.maxMs)} | ${n(o.background.ackedPerSec)} | ${ms(o.background.ack.p99Ms)} |`,
      );
    }
    lines.push('');
  }
  if (r.tracing) {
    const t = r.tracing;
    lines.push(
      `**Tracing cost** (the same ${n(t.offeredPerSec)} events/s against an edge with tracing off and one sampling ${t.sampleRate * 100}% of frames into an OTLP sink, alternating rounds; processors shared, tracing what arrives traced; ${n(t.spansExported)} spans exported in ${n(t.exportRequests)} requests)`,
    );
    lines.push('');
    lines.push('| tracing | round | acked/s | ack p99 ms | edge CPU µs/event | processors CPU µs/event |');
    lines.push('|---|---:|---:|---:|---:|---:|');
    t.rounds.forEach((x, i) => lines.push(`| ${x.tracing} | ${Math.floor(i / 2) + 1} | ${n(x.ackedPerSec)} | ${ms(x.ackP99Ms)} | ${x.edgeCpuUsPerEvent.toFixed(2)} | ${x.processorsCpuUsPerEvent.toFixed(2)} |`));
    for (const side of ['off', 'on'] as const) {
      const m = t.median[side];
      lines.push(`| **${side}, median** | | ${n(m.ackedPerSec)} | ${ms(m.ackP99Ms)} | ${m.edgeCpuUsPerEvent.toFixed(2)} | ${m.processorsCpuUsPerEvent.toFixed(2)} |`);
    }
    lines.push('');
    const r3 = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(3)}×`);
    lines.push(`On / off: edge CPU per event ${r3(t.edgeCpuRatio)}, processors ${r3(t.processorsCpuRatio)}.`);
    lines.push('');
  }
  if (r.idle.length > 0) {
    lines.push('**Idle connections** (one edge process; memory deltas read from /proc and the process heap metric)');
    lines.push('');
    lines.push('| target | asked | held | failed | connect ms | RSS before → held | RSS per conn | heap per conn |');
    lines.push('|---|---:|---:|---:|---:|---|---:|---:|');
    for (const i of r.idle) {
      lines.push(
        `| ${i.target} | ${n(i.asked)} | ${n(i.held)} | ${n(i.failed)} | ${n(i.connectMs)} | ${(i.rssBeforeBytes / 2 ** 20).toFixed(0)} → ${(i.rssHeldBytes / 2 ** 20).toFixed(0)} MiB | ${kb(i.rssPerConnBytes)} | ${kb(i.heapPerConnBytes)} |`,
      );
    }
    lines.push('');
  }
  if (r.processors.length > 0) {
    lines.push('**Processors during the run** (our processors role, offers decided; consumption and lag read from committed offsets in Kafka over the traffic phases)');
    lines.push('');
    lines.push('| processor | group | events/s (mean) | events/s (best 3 s) | max lag | final lag | window s |');
    lines.push('|---|---|---:|---:|---:|---:|---:|');
    for (const p of r.processors) {
      lines.push(`| ${p.name} | ${p.group} | ${n(p.eventsPerSec)} | ${n(p.peakEventsPerSec)} | ${n(p.maxLag)} | ${n(p.finalLag)} | ${p.windowSec} |`);
    }
    lines.push('');
  }
  if ((r.processorPhases ?? []).length > 0) {
    lines.push('**Processors per traffic phase** (the same committed offsets over each phase\'s window, from its first generator to its last, warm-up included; seconds since the lag sampler started)');
    lines.push('');
    lines.push('| phase | edge | offered/s | group | window s | events/s (mean) | max lag | final lag |');
    lines.push('|---|---|---:|---|---|---:|---:|---:|');
    for (const p of r.processorPhases ?? []) {
      lines.push(`| ${p.phase} | ${p.target} | ${p.offeredPerSec === 'saturation' ? 'saturation' : n(p.offeredPerSec)} | ${p.group} | ${p.fromSec}–${p.toSec} | ${n(p.eventsPerSec)} | ${n(p.maxLag)} | ${n(p.finalLag)} |`);
    }
    lines.push('');
  }
  if (r.processorComparison) {
    const c = r.processorComparison;
    const w = c.withRules ?? null;
    lines.push(`**Processors on the same events** (${c.source}: ${n(c.events)} events drained from a fresh topic, each run in a group and key prefix of its own; player state only: applied events counted, state check: ${c.stateCheck}; rules live: decided events counted, offers in the players' inboxes after the run)`);
    lines.push('');
    lines.push('| processor | rules | events | events/s | offers |');
    lines.push('|---|---|---:|---:|---:|');
    lines.push(`| ours | none | ${n(c.events)} | ${n(c.ours)} | – |`);
    lines.push(`| naive (load/peers/naive-processor.ts) | none | ${n(c.events)} | ${n(c.naive)} | – |`);
    if (w) {
      lines.push(`| ours, offers decider on | live | ${n(w.oursEvents)} | ${n(w.ours)} | ${n(w.oursOffers)} |`);
      lines.push(`| naive per-event decide (load/peers/naive-decider.ts) | live | ${n(w.naiveEvents)} | ${n(w.naive)} | ${n(w.naiveOffers)} |`);
    }
    lines.push('');
  }
  if (r.rules) {
    lines.push(`**Rule evaluation cost** (${r.rules.source})`);
    lines.push('');
    lines.push('```');
    lines.push(...r.rules.lines);
    lines.push('```');
    lines.push('');
  }
  if (r.memory) {
    const m = r.memory;
    const kinds = [...new Set(m.stages.flatMap((s) => Object.keys(s.byKind)))].sort();
    lines.push(`**Redis memory per player** (sample game: ${m.properties} properties, ${m.rules} rules; ${m.players} players, MEMORY USAGE summed by key kind, bytes; ${m.seconds} s)`);
    lines.push('');
    lines.push(`| events per player | ${kinds.join(' | ')} | profile and markers | total | keys without expiry | 1 M players | 10 M players |`);
    lines.push(`|---:|${kinds.map(() => '---:').join('|')}|---:|---:|---:|---:|---:|`);
    for (const s of m.stages) {
      lines.push(`| ${n(s.eventsPerPlayer)} | ${kinds.map((k) => n(s.byKind[k] ?? 0)).join(' | ')} | ${n(s.corePerPlayer)} | ${n(s.totalPerPlayer)} | ${s.keysWithoutExpiry} | ${s.projectedGiB['1M']} GiB | ${s.projectedGiB['10M']} GiB |`);
    }
    lines.push('');
    lines.push('Profile and markers: state, limits, win, wm, seen, decisions. The other keys exist while a player has pending offers (inbox, offers), offers of the last 30 days (ledger, at most 10) or open lift windows (attr). Projections use the total.');
    lines.push('');
  }
  lines.push('**Ratios** (ours / peer; for latency and memory, peer / ours, so higher is better for us)');
  lines.push('');
  lines.push('| ratio | value |');
  lines.push('|---|---:|');
  for (const [k, v] of Object.entries(r.ratios)) lines.push(`| ${k} | ${ratio(v)} |`);
  lines.push('');
  lines.push('**Targets** (recorded, never asserted)');
  lines.push('');
  lines.push('| target | wanted | measured | met |');
  lines.push('|---|---|---|---|');
  for (const t of r.targets) lines.push(`| ${t.name} | ${t.target} | ${t.measured} | ${t.met === null ? '–' : t.met ? 'yes' : 'no'} |`);
  for (const [proc, spots] of Object.entries(r.profiles)) {
    lines.push('');
    lines.push(`**Hot spots, ${proc}** (--cpu-prof, main thread, share of busy samples, start-up included)`);
    lines.push('');
    lines.push('| self | function | where |');
    lines.push('|---:|---|---|');
    for (const h of spots.slice(0, 10)) lines.push(`| ${h.selfPct}% | ${h.fn} | ${h.where} |`);
  }
  if (r.notes.length > 0) {
    lines.push('');
    for (const note of r.notes) lines.push(`- ${note}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The charts of a run, by file name. */
export function charts(r: BenchResults): Record<string, string> {
  const dist = (name: string, d: { ms: number; share: number }[]): Series => ({
    name,
    points: d.map((p) => [percentileX(p.share), Math.max(0.01, p.ms)] as const),
  });
  const latency: Series[] = [];
  for (const f of r.ingest.fixed) latency.push(dist(`ack, ${f.target}, ${n(Number(f.offeredPerSec))}/s`, f.distribution));
  for (const f of r.ingest.saturation) latency.push(dist(`ack, ${f.target}, saturation`, f.distribution));
  for (const f of r.ingest.manyPlayers ?? []) latency.push(dist(`ack, ${f.target}, many players`, f.distribution));
  for (const o of r.offers) latency.push(dist(`event→offer, ${o.target}, ${n(o.backgroundPerSec)}/s`, o.distribution));
  const throughput: Series[] = r.ingest.saturation.map((f) => ({
    name: `acked/s, ${f.target}, saturation`,
    points: f.timeline.map((v, i) => [i, v] as const),
  }));
  for (const f of r.ingest.fixed) throughput.push({ name: `acked/s, ${f.target}, ${n(Number(f.offeredPerSec))}/s`, points: f.timeline.map((v, i) => [i, v] as const) });
  const lag: Series[] = r.processors.map((p) => ({ name: `lag, ${p.name}`, points: p.lagTimeline }));
  return {
    'latency.svg': lineChart({
      title: 'Latency distribution',
      xLabel: 'percentile',
      yLabel: 'latency (ms, log)',
      xLog: true,
      yLog: true,
      xTicks: PERCENTILE_TICKS,
      series: latency,
    }),
    'throughput.svg': lineChart({ title: 'Events acked per second over time', xLabel: 'seconds since traffic start', yLabel: 'events/s', series: throughput }),
    'lag.svg': lineChart({ title: 'Consumer lag over the run', xLabel: 'seconds since the lag sampler started', yLabel: 'events behind', series: lag }),
  };
}
