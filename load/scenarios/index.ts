/**
 * The load scenarios of PlayPulse, read by the k6 scripts (load/k6/) that studios run
 * against their deployment and by the in-repo bench (load/bench/), so what we measure here
 * is what studios run there. Plain TypeScript with no Node and no k6 imports.
 *
 * Rates are events per second over all players together; durations are seconds. The k6
 * scripts let env vars override rates, counts and durations; thresholds are the contract
 * each run is judged by.
 */
export * from './events.ts';
export * from './frames.ts';
export * from './stream.ts';

/** What the sample rules folder (offers/rules) promises for the comeback sequence. */
export const SAMPLE_RULES = {
  comebackRuleId: 'comeback-bundle',
  /** loss_streak >= 3 */
  lossesToTrigger: 3,
  /** policy.yaml holdout: a stable share of players never gets an offer. */
  holdoutPercent: 5,
  /** comeback-bundle experiment: the `control` arm (holdout) weight out of 100. */
  controlArmPercent: 10,
} as const;

/** Share of fresh players that should receive the comeback offer against the sample rules. */
export const SAMPLE_OFFER_SHARE = (1 - SAMPLE_RULES.holdoutPercent / 100) * (1 - SAMPLE_RULES.controlArmPercent / 100);

export interface IngestScenario {
  readonly kind: 'ingest';
  /** Concurrent players, one socket each. */
  readonly players: number;
  /** Offered events/s over all players (open loop); 0 = saturation (closed loop, `inflightBatches` per socket). */
  readonly ratePerSec: number;
  readonly batchSize: number;
  /** Average encoded size of one event in bytes (padding added to reach it). */
  readonly payloadBytes: number;
  readonly rampUpSec: number;
  readonly durationSec: number;
  /** Closed loop only: unacked batches each socket keeps in flight. */
  readonly inflightBatches: number;
  /**
   * Game-client shape (open loop): each socket sends a frame every `frameEveryMs[0]` to
   * `frameEveryMs[1]` ms (uniform, drawn again for every frame: jitter), of `batchSize` to
   * `batchSizeMax` events (uniform). `ratePerSec` is then what that offers on average.
   */
  readonly frameEveryMs?: readonly [number, number];
  readonly batchSizeMax?: number;
  readonly thresholds: { readonly ackP99Ms: number; readonly ackP999Ms: number; readonly maxErrorRate: number };
}

export interface OffersScenario {
  readonly kind: 'offers';
  /** Fresh players, each plays one comeback sequence. */
  readonly players: number;
  /** New comeback sequences started per second. */
  readonly sequencesPerSec: number;
  readonly lossesToTrigger: number;
  /** Pause between the matches of one sequence. */
  readonly matchGapMs: number;
  /** How long a player waits for the offer after the triggering event. */
  readonly offerTimeoutMs: number;
  readonly ruleId: string;
  /** Background traffic beside the sequences (ingest mix, open loop). */
  readonly background: { readonly players: number; readonly ratePerSec: number; readonly batchSize: number; readonly payloadBytes: number };
  readonly durationSec: number;
  /** Share of sequences expected to end in an offer (rules-dependent). */
  readonly expectedOfferShare: number;
  readonly thresholds: { readonly offerP99Ms: number; readonly ackP99Ms: number; readonly minOfferShareOfExpected: number };
}

export interface SoakScenario {
  readonly kind: 'soak';
  readonly connections: number;
  readonly socketsPerVu: number;
  readonly connectRatePerSec: number;
  readonly pingEverySec: number;
  /** Each socket sends one event this often (0 = never): mostly idle. */
  readonly eventEverySec: number;
  readonly durationSec: number;
  readonly thresholds: { readonly pongP99Ms: number; readonly maxUnexpectedCloses: number; readonly maxErrorRate: number };
}

export interface ReconnectStormScenario {
  readonly kind: 'reconnect-storm';
  readonly connections: number;
  readonly socketsPerVu: number;
  /** Share of sockets that drop and reconnect at once. */
  readonly dropShare: number;
  /** Each player plays the comeback sequence first and leaves the offer unreported, so it is pending. */
  readonly withPendingOffers: boolean;
  readonly stormAfterSec: number;
  readonly durationSec: number;
  readonly expectedOfferShare: number;
  readonly thresholds: { readonly rehelloP99Ms: number; readonly redeliveryP99Ms: number; readonly minRedeliveredShare: number };
}

/** Bench only: idle sockets held open against one edge process, for memory per connection. */
export interface IdleScenario {
  readonly kind: 'idle';
  readonly connections: number;
  readonly connectRatePerSec: number;
  readonly holdSec: number;
}

export type Scenario = IngestScenario | OffersScenario | SoakScenario | ReconnectStormScenario | IdleScenario;

/** Defaults of the k6 scripts: a studio's first run against a staging deployment. */
export const K6_DEFAULTS = {
  ingest: {
    kind: 'ingest',
    players: 1_000,
    ratePerSec: 10_000,
    batchSize: 20,
    payloadBytes: 120,
    rampUpSec: 30,
    durationSec: 120,
    inflightBatches: 4,
    thresholds: { ackP99Ms: 10, ackP999Ms: 50, maxErrorRate: 0.001 },
  },
  offers: {
    kind: 'offers',
    players: 3_000,
    sequencesPerSec: 25,
    lossesToTrigger: SAMPLE_RULES.lossesToTrigger,
    matchGapMs: 200,
    offerTimeoutMs: 5_000,
    ruleId: SAMPLE_RULES.comebackRuleId,
    background: { players: 500, ratePerSec: 10_000, batchSize: 20, payloadBytes: 120 },
    durationSec: 120,
    expectedOfferShare: SAMPLE_OFFER_SHARE,
    thresholds: { offerP99Ms: 20, ackP99Ms: 10, minOfferShareOfExpected: 0.95 },
  },
  soak: {
    kind: 'soak',
    connections: 20_000,
    socketsPerVu: 200,
    connectRatePerSec: 1_000,
    pingEverySec: 30,
    eventEverySec: 60,
    durationSec: 3_600,
    thresholds: { pongP99Ms: 50, maxUnexpectedCloses: 0, maxErrorRate: 0.001 },
  },
  reconnectStorm: {
    kind: 'reconnect-storm',
    connections: 5_000,
    socketsPerVu: 100,
    dropShare: 0.5,
    withPendingOffers: true,
    stormAfterSec: 30,
    durationSec: 90,
    expectedOfferShare: SAMPLE_OFFER_SHARE,
    thresholds: { rehelloP99Ms: 1_000, redeliveryP99Ms: 1_500, minRedeliveredShare: 0.99 },
  },
} as const satisfies {
  ingest: IngestScenario;
  offers: OffersScenario;
  soak: SoakScenario;
  reconnectStorm: ReconnectStormScenario;
};

/**
 * The bench's runs (npm run bench). `full` is the published table; `quick` a smoke run that
 * finishes within 90 s. The bench uses a rules folder derived from offers/rules without
 * holdout, control arm, budget or daily cap, so every comeback sequence should get its offer.
 */
export interface BenchPlan {
  readonly ingestFixed: IngestScenario;
  readonly ingestSaturation: IngestScenario;
  /** Many players sending small frames now and then, as game clients do (frameEveryMs, batchSizeMax). */
  readonly ingestManyPlayers?: IngestScenario;
  /** A fixed rate in frames of one event each: the edge's cost per frame at its highest. */
  readonly ingestSmallFrames?: IngestScenario;
  readonly offers: OffersScenario;
  /** The same at a background rate the processors keep up with: the pipeline's own latency. */
  readonly offersLight?: OffersScenario;
  readonly idle: IdleScenario;
}

const fixed10k: IngestScenario = { ...K6_DEFAULTS.ingest, players: 200, ratePerSec: 10_000, rampUpSec: 2, durationSec: 20 };

/** `players` game clients, a frame of 1–3 events every 1–2 s each (2 events per 1.5 s on average). */
function manyPlayers(players: number, durationSec: number): IngestScenario {
  return { ...fixed10k, players, batchSize: 1, batchSizeMax: 3, frameEveryMs: [1_000, 2_000], ratePerSec: Math.round((players * 2) / 1.5), durationSec };
}

export const BENCH_PLANS: { readonly full: BenchPlan; readonly quick: BenchPlan } = {
  full: {
    ingestFixed: fixed10k,
    ingestSaturation: { ...fixed10k, ratePerSec: 0, players: 200, batchSize: 50, inflightBatches: 4, durationSec: 20 },
    // 15,000 sockets: as many as the open-file limit (20,000) leaves room for beside the rest.
    ingestManyPlayers: manyPlayers(15_000, 20),
    ingestSmallFrames: { ...fixed10k, players: 2_000, batchSize: 1, ratePerSec: 10_000 },
    offers: {
      ...K6_DEFAULTS.offers,
      players: 1_500,
      sequencesPerSec: 100,
      matchGapMs: 50,
      background: { players: 200, ratePerSec: 10_000, batchSize: 20, payloadBytes: 120 },
      durationSec: 20,
      expectedOfferShare: 1,
    },
    offersLight: {
      ...K6_DEFAULTS.offers,
      players: 500,
      sequencesPerSec: 50,
      matchGapMs: 50,
      background: { players: 100, ratePerSec: 1_000, batchSize: 10, payloadBytes: 120 },
      durationSec: 10,
      expectedOfferShare: 1,
    },
    idle: { kind: 'idle', connections: 19_000, connectRatePerSec: 4_000, holdSec: 5 },
  },
  quick: {
    ingestFixed: { ...fixed10k, players: 100, ratePerSec: 5_000, durationSec: 3 },
    ingestSaturation: { ...fixed10k, ratePerSec: 0, players: 100, batchSize: 50, inflightBatches: 4, durationSec: 3 },
    ingestManyPlayers: manyPlayers(1_500, 3),
    ingestSmallFrames: { ...fixed10k, players: 200, batchSize: 1, ratePerSec: 2_000, durationSec: 3 },
    offers: {
      ...K6_DEFAULTS.offers,
      players: 200,
      sequencesPerSec: 50,
      matchGapMs: 50,
      offerTimeoutMs: 3_000,
      background: { players: 100, ratePerSec: 5_000, batchSize: 20, payloadBytes: 120 },
      durationSec: 3,
      expectedOfferShare: 1,
    },
    idle: { kind: 'idle', connections: 2_000, connectRatePerSec: 4_000, holdSec: 1 },
  },
};

/** Player ids of a run: `<run>-<role>-<n>`, within docs/contract.md §2 (1–64 of [A-Za-z0-9_.:-]). */
export function playerId(runId: string, role: string, n: number): string {
  return `${runId}-${role}-${n.toString(36)}`.slice(0, 64);
}

/** The percentile reading shared by every report: p50, p99, p99.9. */
export const PERCENTILES = [50, 99, 99.9] as const;
