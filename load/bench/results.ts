/** The JSON written per bench run (load/results/<runId>.json); load/results/baseline.json has the same shape. */
import type { TracingFigures } from './tracing.ts';
import type { MemoryFigures } from './memory.ts';
import type { BenchPlan } from '../scenarios/index.ts';
import type { Machine } from './machine.ts';
import type { IdleFigures, IngestFigures, OffersFigures } from './phases.ts';
import type { HotSpot } from './profile.ts';

export interface ProcessorFigures {
  readonly name: string;
  readonly group: string;
  /** Events consumed per second: mean over the measured window, and the best 3 s. */
  readonly eventsPerSec: number;
  readonly peakEventsPerSec: number;
  readonly maxLag: number;
  readonly finalLag: number;
  readonly windowSec: number;
  /** Lag over time, [seconds since start, lag]. */
  readonly lagTimeline: [number, number][];
}

/** Our processors over the window of one traffic phase, from committed offsets (one entry per consumer group). */
export interface ProcessorPhaseFigures {
  readonly phase: 'fixed' | 'saturation' | 'manyPlayers' | 'smallFrames' | 'offers';
  /** The edge the phase drove ('ours', 'ws peer'); the processors are ours either way. */
  readonly target: string;
  /** The phase's offered events/s (for the offers phase, its background rate). */
  readonly offeredPerSec: number | 'saturation';
  readonly group: string;
  /** The window, seconds since the lag sampler started: the phase from its first generator to its last, warm-up included. */
  readonly fromSec: number;
  readonly toSec: number;
  readonly eventsPerSec: number;
  readonly maxLag: number;
  readonly finalLag: number;
}

export interface ProcessorComparison {
  readonly source: string;
  readonly events: number;
  /** Events applied per second on the same events. */
  readonly ours: number;
  readonly naive: number;
  readonly ratio: number | null;
  readonly stateCheck: string;
  /** The same events with rules live (ours with the offers decider on, the naive per-event decide peer); absent in older results, null when not run. */
  readonly withRules?: RulesComparison | null;
}

export interface RulesComparison {
  /** The event set; each side must have decided all of it for the ratio to count. */
  readonly events: number;
  /** Events decided per second. */
  readonly ours: number;
  readonly naive: number;
  readonly oursEvents: number;
  readonly naiveEvents: number;
  /** Offers in the players' inboxes after the run, each side. */
  readonly oursOffers: number;
  readonly naiveOffers: number;
}

/** load/bench/offers-engine.ts's decisions per second, taken from its JSON line. */
export interface DecisionRates {
  readonly pure: number;
  readonly redis: number;
  readonly redisWithLift: number | null;
  readonly redisWithLiveOps: number | null;
}

export interface RuleCostFigures {
  readonly source: string;
  readonly lines: string[];
  /** The bench's own JSON line, as it printed it. */
  readonly figures: unknown;
  /** Decisions per second from that line; absent in older results, null when the line was missing or incomplete. */
  readonly decisionsPerSec?: DecisionRates | null;
}

export interface Target {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | null;
}

export interface BenchResults {
  readonly version: 1;
  readonly runId: string;
  readonly mode: 'quick' | 'full';
  readonly startedAt: string;
  readonly durationSec: number;
  readonly machine: Machine;
  readonly plan: BenchPlan;
  /** `manyPlayers` and `smallFrames`: absent in results recorded before those phases existed. */
  readonly ingest: { fixed: IngestFigures[]; saturation: IngestFigures[]; manyPlayers?: IngestFigures[]; smallFrames?: IngestFigures[] };
  readonly offers: OffersFigures[];
  readonly idle: IdleFigures[];
  /** Our processors role during the traffic phases (offers decided), from committed offsets. */
  readonly processors: ProcessorFigures[];
  /** The same, per traffic phase; absent in older results. */
  readonly processorPhases?: ProcessorPhaseFigures[];
  readonly processorComparison: ProcessorComparison | null;
  readonly rules: RuleCostFigures | null;
  /** Redis bytes per player for the sample game (load/bench/memory.ts); absent in older results. */
  readonly memory?: MemoryFigures | null;
  /** The cost of tracing at 1% against off (load/bench/tracing.ts); absent in older results. */
  readonly tracing?: TracingFigures | null;
  readonly ratios: Record<string, number | null>;
  readonly targets: Target[];
  readonly profiles: Record<string, HotSpot[]>;
  readonly notes: string[];
}
