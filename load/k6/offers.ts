/**
 * k6 offers: fresh players play matches that satisfy the sample comeback rule (three losses
 * in a row → `comeback-bundle`) beside background ingest traffic at a fixed rate. The Trend
 * event_to_offer_ms runs from the triggering event's send to the offer's arrival.
 *
 *   k6 run -e PP_URL=wss://play.example.com -e PP_SECRET=... load/k6/dist/offers.js
 *
 * Against the sample rules about 85.5% of fresh players get the offer (5% global holdout,
 * 10% control arm); PP_EXPECTED_OFFER_SHARE sets the expectation for other rules. Use
 * PP_SECRET rather than a token file here: a player gets the offer once per cooldown.
 *
 * Env: PP_SEQUENCES_PER_SEC, PP_MATCH_GAP_MS, PP_OFFER_TIMEOUT_MS, PP_RULE_ID, PP_BG_PLAYERS,
 * PP_BG_RATE, PP_BATCH, PP_PAYLOAD_BYTES, PP_DURATION_SEC, PP_OFFER_P99_MS, PP_ACK_P99_MS.
 */
import exec from 'k6/execution';
import type { Options } from 'k6/options';
import { K6_DEFAULTS, playerId } from '../scenarios/index.ts';
import { below, envNumber, envString, PP_RUN_ID } from './lib/env.ts';
import { playComeback } from './lib/comeback.ts';
import { runIngestLoop } from './lib/ingest-loop.ts';
import { credentials } from './lib/token.ts';

const d = K6_DEFAULTS.offers;
const sequencesPerSec = envNumber('PP_SEQUENCES_PER_SEC', d.sequencesPerSec);
const gapMs = envNumber('PP_MATCH_GAP_MS', d.matchGapMs);
const offerTimeoutMs = envNumber('PP_OFFER_TIMEOUT_MS', d.offerTimeoutMs);
const ruleId = envString('PP_RULE_ID', d.ruleId);
const durationSec = envNumber('PP_DURATION_SEC', d.durationSec);
const expectedShare = envNumber('PP_EXPECTED_OFFER_SHARE', d.expectedOfferShare);
const bg = {
  players: envNumber('PP_BG_PLAYERS', d.background.players),
  ratePerSec: envNumber('PP_BG_RATE', d.background.ratePerSec),
  batchSize: Math.max(1, Math.min(500, envNumber('PP_BATCH', d.background.batchSize))),
  payloadBytes: envNumber('PP_PAYLOAD_BYTES', d.background.payloadBytes),
  inflightBatches: 1,
};
const socketsPerVu = Math.max(1, envNumber('PP_SOCKETS_PER_VU', 50));
const bgVus = Math.ceil(bg.players / socketsPerVu);
const sequenceSec = (d.lossesToTrigger * gapMs + offerTimeoutMs) / 1000;

const scenarios: Options['scenarios'] = {
  comeback: {
    executor: 'constant-arrival-rate',
    exec: 'comeback',
    rate: Math.max(1, Math.round(sequencesPerSec)),
    timeUnit: '1s',
    duration: `${durationSec}s`,
    preAllocatedVUs: Math.ceil(sequencesPerSec * Math.min(sequenceSec, 2)) + 10,
    maxVUs: Math.ceil(sequencesPerSec * sequenceSec) + 50,
  },
};
if (bg.players > 0 && bg.ratePerSec > 0) {
  scenarios.background = { executor: 'constant-vus', exec: 'background', vus: bgVus, duration: `${durationSec}s`, gracefulStop: '10s' };
}

export const options: Options = {
  scenarios,
  thresholds: {
    event_to_offer_ms: [below(99, envNumber('PP_OFFER_P99_MS', d.thresholds.offerP99Ms))],
    ack_ms: [below(99, envNumber('PP_ACK_P99_MS', d.thresholds.ackP99Ms))],
    offer_arrived: [`rate>${(expectedShare * d.thresholds.minOfferShareOfExpected).toFixed(4)}`],
    event_errors: ['rate<0.001'],
    ws_unexpected_close: ['count<1'],
  },
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(99)', 'p(99.9)', 'max'],
};

export function comeback(): void {
  const n = exec.scenario.iterationInTest;
  playComeback({
    creds: credentials((i) => playerId(PP_RUN_ID, 'cb', i), n),
    losses: d.lossesToTrigger,
    gapMs,
    ruleId,
    offerTimeoutMs,
    reportShown: true,
    closeAfter: true,
  });
}

export function background(): void {
  const vu = exec.vu.idInInstance;
  const iter = exec.vu.iterationInScenario;
  const players = [];
  for (let i = 0; i < socketsPerVu; i++) players.push(credentials((n) => playerId(PP_RUN_ID, 'bg', n), (iter * bgVus + vu) * socketsPerVu + i));
  const sessionMs = Math.max(1_000, durationSec * 1000 - (Date.now() - exec.scenario.startTime));
  runIngestLoop({ scenario: { ...bg, players: bgVus * socketsPerVu }, players, sessionMs, seed: vu * 7_919 + iter });
}
