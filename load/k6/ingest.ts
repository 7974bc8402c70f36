/**
 * k6 ingest: ramping players, each connects with its token and streams event batches from
 * the shared mix at a target rate (open loop), or as fast as acks come back (PP_RATE=0).
 *
 *   k6 run -e PP_URL=wss://play.example.com -e PP_SECRET=... load/k6/dist/ingest.js
 *
 * Env: PP_PLAYERS, PP_RATE (events/s, all players), PP_BATCH, PP_PAYLOAD_BYTES, PP_RAMP_SEC,
 * PP_DURATION_SEC, PP_INFLIGHT_BATCHES, PP_SOCKETS_PER_VU, PP_ACK_P99_MS, PP_ACK_P999_MS.
 */
import exec from 'k6/execution';
import type { Options } from 'k6/options';
import { K6_DEFAULTS, playerId } from '../scenarios/index.ts';
import { below, envNumber, PP_RUN_ID } from './lib/env.ts';
import { runIngestLoop } from './lib/ingest-loop.ts';
import { credentials } from './lib/token.ts';

const d = K6_DEFAULTS.ingest;
const scenario = {
  players: envNumber('PP_PLAYERS', d.players),
  ratePerSec: envNumber('PP_RATE', d.ratePerSec),
  batchSize: Math.max(1, Math.min(500, envNumber('PP_BATCH', d.batchSize))),
  payloadBytes: envNumber('PP_PAYLOAD_BYTES', d.payloadBytes),
  inflightBatches: Math.max(1, envNumber('PP_INFLIGHT_BATCHES', d.inflightBatches)),
};
const rampUpSec = envNumber('PP_RAMP_SEC', d.rampUpSec);
const durationSec = envNumber('PP_DURATION_SEC', d.durationSec);
const socketsPerVu = Math.max(1, envNumber('PP_SOCKETS_PER_VU', 50));
const vus = Math.max(1, Math.ceil(scenario.players / socketsPerVu));

export const options: Options = {
  scenarios: {
    ingest: {
      executor: 'ramping-vus',
      exec: 'ingest',
      startVUs: 0,
      stages: [
        { duration: `${rampUpSec}s`, target: vus },
        { duration: `${durationSec}s`, target: vus },
      ],
      gracefulRampDown: '10s',
      gracefulStop: '10s',
    },
  },
  thresholds: {
    ack_ms: [below(99, envNumber('PP_ACK_P99_MS', d.thresholds.ackP99Ms)), below(99.9, envNumber('PP_ACK_P999_MS', d.thresholds.ackP999Ms))],
    event_errors: [`rate<${d.thresholds.maxErrorRate}`],
    ws_unexpected_close: ['count<1'],
    ws_errors: ['count<1'],
  },
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(99)', 'p(99.9)', 'max'],
};

export function ingest(): void {
  const vu = exec.vu.idInTest;
  const iter = exec.vu.iterationInScenario;
  const players = [];
  for (let i = 0; i < socketsPerVu; i++) {
    players.push(credentials((n) => playerId(PP_RUN_ID, 'ing', n), ((iter * vus + vu - 1) * socketsPerVu) + i));
  }
  const elapsedMs = Date.now() - exec.scenario.startTime;
  const sessionMs = Math.max(1_000, (rampUpSec + durationSec) * 1000 - elapsedMs);
  runIngestLoop({ scenario: { ...scenario, players: vus * socketsPerVu }, players, sessionMs, seed: vu * 100_003 + iter });
}
