/**
 * The bench phases: each drives one target (our edge or a peer) with the shared scenarios
 * from separate load-generator processes and returns plain figures. No phase asserts: the
 * harness records, the README reads.
 */
import type { IdleScenario, IngestScenario, OffersScenario } from '../scenarios/index.ts';
import { runGenerators, split } from './generators.ts';
import type { JobResult } from './gen/jobs.ts';
import { distribution, mergeHistograms, summarize, type LatencySummary } from './hist.ts';
import { cpuMs, rssBytes, scrapeMetric } from './procs.ts';
import { sleep } from '../../lib/time.ts';

export interface Target {
  readonly name: string;
  readonly url: string;
  /** The process that holds the sockets (memory per connection is read from it). */
  readonly edgePid: number;
  readonly metricsUrl: string;
  /** Every process of the target whose CPU is reported, by role. */
  readonly pids: Readonly<Record<string, number>>;
}

export interface PhaseContext {
  readonly runId: string;
  readonly secret: string;
  readonly generators: number;
}

export interface IngestFigures {
  readonly target: string;
  readonly offeredPerSec: number | 'saturation';
  readonly players: number;
  readonly batchSize: number;
  readonly connected: number;
  readonly sent: number;
  readonly acked: number;
  readonly ackedPerSec: number;
  readonly unacked: number;
  readonly errors: Record<string, number>;
  readonly unexpectedCloses: number;
  readonly ack: LatencySummary;
  readonly distribution: { ms: number; share: number }[];
  /** Acked events per second from the start of traffic (warm-up included). */
  readonly timeline: number[];
  /** CPU use of each process of the target during the phase, % of one core. */
  readonly cpuPct: Record<string, number>;
  /** The same unrounded: CPU time of each process over the phase, ms, and the phase's wall time. */
  readonly cpuMs?: Record<string, number>;
  readonly wallMs?: number;
  /** Frames and events (acked) over the same span as the CPU figures, warm-up and drain included. */
  readonly frames?: number;
  readonly eventsAcked?: number;
  /** The edge process's CPU time per acked event and per frame over that span, µs. */
  readonly edgeCpuUsPerEvent?: number;
  readonly edgeCpuUsPerFrame?: number;
  /** Events per frame sent, on average. */
  readonly eventsPerFrame?: number;
  readonly edgeRssBytes: number;
}

function cpuSnapshot(pids: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [role, pid] of Object.entries(pids)) {
    try {
      out[role] = cpuMs(pid);
    } catch {
      out[role] = NaN;
    }
  }
  return out;
}

function cpuPct(before: Record<string, number>, after: Record<string, number>, wallMs: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const role of Object.keys(before)) out[role] = Math.round((100 * ((after[role] ?? 0) - (before[role] ?? 0))) / Math.max(1, wallMs));
  return out;
}

function sumErrors(results: readonly JobResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function sumTimelines(results: readonly JobResult[]): number[] {
  const out: number[] = [];
  for (const r of results) r.timeline.forEach((v, i) => (out[i] = (out[i] ?? 0) + v));
  return out.map((v) => v ?? 0);
}

export async function ingestPhase(target: Target, s: IngestScenario, ctx: PhaseContext, role: string, warmupMs: number): Promise<IngestFigures> {
  const shares = split(s.players, ctx.generators);
  let from = 0;
  const jobs = shares.map((players, i) => {
    const job = {
      kind: 'ingest' as const,
      url: target.url,
      secret: ctx.secret,
      runId: ctx.runId,
      role,
      playerFrom: from,
      players,
      localAddress: `127.0.0.${10 + i}`,
      seed: 1_000 * (i + 1),
      scenario: {
        batchSize: s.batchSize,
        payloadBytes: s.payloadBytes,
        inflightBatches: s.inflightBatches,
        ...(s.frameEveryMs ? { frameEveryMs: s.frameEveryMs } : {}),
        ...(s.batchSizeMax !== undefined ? { batchSizeMax: s.batchSizeMax } : {}),
      },
      ratePerSec: (s.ratePerSec * players) / s.players,
      warmupMs,
      durationMs: s.durationSec * 1000,
    };
    from += players;
    return job;
  });
  let before: Record<string, number> = {};
  let t0 = 0;
  const outcome = await runGenerators(jobs, {
    timeoutMs: 120_000 + warmupMs + s.durationSec * 1000,
    whenReady: async () => {
      before = cpuSnapshot(target.pids);
      t0 = Date.now();
    },
  });
  const wall = Date.now() - t0;
  const after = cpuSnapshot(target.pids);
  const hist = mergeHistograms(outcome.results.map((r) => r.ackHist));
  const acked = outcome.results.reduce((a, r) => a + r.acked, 0);
  const timeline = sumTimelines(outcome.results);
  const frames = outcome.results.reduce((a, r) => a + r.framesSent, 0);
  const eventsAcked = timeline.reduce((a, v) => a + v, 0);
  const edgeCpuMs = (after.edge ?? NaN) - (before.edge ?? NaN);
  return {
    target: target.name,
    offeredPerSec: s.ratePerSec > 0 ? s.ratePerSec : 'saturation',
    players: s.players,
    batchSize: s.batchSize,
    connected: outcome.readies.reduce((a, r) => a + r.connected, 0),
    sent: outcome.results.reduce((a, r) => a + r.sent, 0),
    acked,
    ackedPerSec: Math.round(acked / s.durationSec),
    unacked: outcome.results.reduce((a, r) => a + r.unacked, 0),
    errors: sumErrors(outcome.results),
    unexpectedCloses: outcome.results.reduce((a, r) => a + r.unexpectedCloses, 0),
    ack: summarize(hist),
    distribution: distribution(hist),
    timeline,
    cpuPct: cpuPct(before, after, wall),
    cpuMs: Object.fromEntries(Object.keys(before).map((role) => [role, (after[role] ?? 0) - (before[role] ?? 0)])),
    wallMs: wall,
    frames,
    eventsAcked,
    edgeCpuUsPerEvent: eventsAcked > 0 ? (edgeCpuMs * 1000) / eventsAcked : NaN,
    edgeCpuUsPerFrame: frames > 0 ? (edgeCpuMs * 1000) / frames : NaN,
    eventsPerFrame: frames > 0 ? eventsAcked / frames : NaN,
    edgeRssBytes: safeRss(target.edgePid),
  };
}

export interface OffersFigures {
  readonly target: string;
  readonly backgroundPerSec: number;
  readonly sequencesPerSec: number;
  readonly sequences: number;
  readonly offers: number;
  readonly offerShare: number;
  readonly eventToOffer: LatencySummary;
  readonly distribution: { ms: number; share: number }[];
  readonly background: IngestFigures;
  readonly errors: Record<string, number>;
}

/**
 * `role` names the phase's players (`<run>-<role>-<n>`). Each phase needs players of its own:
 * a reused player sends the same event ids as in the earlier phase, which the edge and the
 * processors rightly take for resends of events already applied, so no offer follows.
 */
export async function offersPhase(target: Target, s: OffersScenario, ctx: PhaseContext, role: string, warmupMs: number): Promise<OffersFigures> {
  const durationMs = s.durationSec * 1000;
  const comebackJob = {
    kind: 'comeback' as const,
    url: target.url,
    secret: ctx.secret,
    runId: ctx.runId,
    role: `${role}cb`,
    playerFrom: 0,
    players: Math.min(s.players, Math.ceil(s.sequencesPerSec * s.durationSec)),
    localAddress: '127.0.0.20',
    seed: 77,
    scenario: { lossesToTrigger: s.lossesToTrigger, matchGapMs: s.matchGapMs, offerTimeoutMs: s.offerTimeoutMs, ruleId: s.ruleId },
    sequencesPerSec: s.sequencesPerSec,
    warmupMs: s.background.players > 0 && s.background.ratePerSec > 0 ? warmupMs : 0,
    durationMs,
  };
  const bg = s.background;
  const bgJob = {
    kind: 'ingest' as const,
    url: target.url,
    secret: ctx.secret,
    runId: ctx.runId,
    role: `${role}bg`,
    playerFrom: 0,
    players: bg.players,
    localAddress: '127.0.0.21',
    seed: 4_242,
    scenario: { batchSize: bg.batchSize, payloadBytes: bg.payloadBytes, inflightBatches: 1 },
    ratePerSec: bg.ratePerSec,
    warmupMs,
    durationMs,
  };
  const jobs = bg.players > 0 && bg.ratePerSec > 0 ? [comebackJob, bgJob] : [comebackJob];
  let before: Record<string, number> = {};
  let t0 = 0;
  const outcome = await runGenerators(jobs, {
    timeoutMs: 120_000 + warmupMs + durationMs + s.offerTimeoutMs,
    whenReady: async () => {
      before = cpuSnapshot(target.pids);
      t0 = Date.now();
    },
  });
  const wall = Date.now() - t0;
  const after = cpuSnapshot(target.pids);
  const cb = outcome.results.find((r) => r.kind === 'comeback') as JobResult;
  const bgResult = outcome.results.find((r) => r.kind === 'ingest');
  const offerHist = mergeHistograms([cb.offerHist]);
  const bgHist = mergeHistograms(bgResult ? [bgResult.ackHist] : []);
  return {
    target: target.name,
    backgroundPerSec: bg.ratePerSec,
    sequencesPerSec: s.sequencesPerSec,
    sequences: cb.sequences,
    offers: cb.offers,
    offerShare: cb.sequences > 0 ? Math.round((1000 * cb.offers) / cb.sequences) / 1000 : 0,
    eventToOffer: summarize(offerHist),
    distribution: distribution(offerHist),
    errors: sumErrors(outcome.results),
    background: {
      target: target.name,
      offeredPerSec: bg.ratePerSec,
      players: bg.players,
      batchSize: bg.batchSize,
      connected: outcome.readies.reduce((a, r) => a + r.connected, 0),
      sent: bgResult?.sent ?? 0,
      acked: bgResult?.acked ?? 0,
      ackedPerSec: Math.round((bgResult?.acked ?? 0) / s.durationSec),
      unacked: bgResult?.unacked ?? 0,
      errors: bgResult?.errors ?? {},
      unexpectedCloses: bgResult?.unexpectedCloses ?? 0,
      ack: summarize(bgHist),
      distribution: distribution(bgHist),
      timeline: bgResult?.timeline ?? [],
      cpuPct: cpuPct(before, after, wall),
      edgeRssBytes: safeRss(target.edgePid),
    },
  };
}

export interface IdleFigures {
  readonly target: string;
  readonly asked: number;
  readonly held: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly connectMs: number;
  readonly rssBeforeBytes: number;
  readonly rssHeldBytes: number;
  readonly heapBeforeBytes: number | null;
  readonly heapHeldBytes: number | null;
  readonly rssPerConnBytes: number;
  readonly heapPerConnBytes: number | null;
}

const HEAP_METRIC = 'playpulse_process_nodejs_heap_size_used_bytes';

export async function idlePhase(target: Target, s: IdleScenario, ctx: PhaseContext, settleMs: number): Promise<IdleFigures> {
  const parts = Math.max(ctx.generators, Math.ceil(s.connections / 9_000));
  const shares = split(s.connections, parts);
  let from = 0;
  const jobs = shares.map((players, i) => {
    const job = {
      kind: 'idle' as const,
      url: target.url,
      secret: ctx.secret,
      runId: ctx.runId,
      role: `idle${target.name === 'ours' ? 'o' : 'p'}`,
      playerFrom: from,
      players,
      localAddress: `127.0.1.${10 + i}`,
      seed: i,
      connectRatePerSec: s.connectRatePerSec / parts,
    };
    from += players;
    return job;
  });
  await sleep(settleMs);
  const rssBefore = safeRss(target.edgePid);
  const heapBefore = await scrapeMetric(target.metricsUrl, HEAP_METRIC);
  let rssHeld = 0;
  let heapHeld: number | null = null;
  const outcome = await runGenerators(jobs, {
    timeoutMs: 180_000 + s.holdSec * 1000,
    whenReady: async () => {
      await sleep(Math.max(settleMs, s.holdSec * 1000));
      rssHeld = safeRss(target.edgePid);
      heapHeld = await scrapeMetric(target.metricsUrl, HEAP_METRIC);
    },
  });
  const held = outcome.readies.reduce((a, r) => a + r.connected, 0);
  const failures: Record<string, number> = {};
  for (const r of outcome.readies) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
  const heapPer = heapBefore !== null && heapHeld !== null && held > 0 ? Math.round((heapHeld - heapBefore) / held) : null;
  return {
    target: target.name,
    asked: s.connections,
    held,
    failed: outcome.readies.reduce((a, r) => a + r.failed, 0),
    failures,
    connectMs: Math.max(...outcome.readies.map((r) => r.connectMs)),
    rssBeforeBytes: rssBefore,
    rssHeldBytes: rssHeld,
    heapBeforeBytes: heapBefore,
    heapHeldBytes: heapHeld,
    rssPerConnBytes: held > 0 ? Math.round((rssHeld - rssBefore) / held) : 0,
    heapPerConnBytes: heapPer,
  };
}

function safeRss(pid: number): number {
  try {
    return rssBytes(pid);
  } catch {
    return 0;
  }
}
