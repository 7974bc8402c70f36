/**
 * k6 soak: many mostly-idle connections held for a long time. Each socket pings every
 * PP_PING_SEC (pong_ms) and sends one event every PP_EVENT_SEC; any close the script did not
 * ask for counts as ws_unexpected_close.
 *
 *   k6 run -e PP_URL=wss://play.example.com -e PP_SECRET=... -e PP_CONNECTIONS=20000 load/k6/dist/soak.js
 *
 * Env: PP_CONNECTIONS, PP_SOCKETS_PER_VU, PP_CONNECT_RATE (sockets/s over all VUs),
 * PP_PING_SEC, PP_EVENT_SEC, PP_DURATION_SEC, PP_PONG_P99_MS.
 */
import exec from 'k6/execution';
import type { Options } from 'k6/options';
import { setInterval, clearInterval, setTimeout } from 'k6/timers';
import { createEventSource, K6_DEFAULTS, playerId } from '../scenarios/index.ts';
import { below, envNumber, PP_RUN_ID } from './lib/env.ts';
import { openPlayer } from './lib/player.ts';
import { credentials } from './lib/token.ts';

const d = K6_DEFAULTS.soak;
const connections = envNumber('PP_CONNECTIONS', d.connections);
const socketsPerVu = Math.max(1, envNumber('PP_SOCKETS_PER_VU', d.socketsPerVu));
const connectRate = Math.max(1, envNumber('PP_CONNECT_RATE', d.connectRatePerSec));
const pingSec = Math.max(1, envNumber('PP_PING_SEC', d.pingEverySec));
const eventSec = envNumber('PP_EVENT_SEC', d.eventEverySec);
const durationSec = envNumber('PP_DURATION_SEC', d.durationSec);
const vus = Math.max(1, Math.ceil(connections / socketsPerVu));

export const options: Options = {
  scenarios: {
    soak: { executor: 'per-vu-iterations', exec: 'soak', vus, iterations: 1, maxDuration: `${durationSec + 60}s` },
  },
  thresholds: {
    pong_ms: [below(99, envNumber('PP_PONG_P99_MS', d.thresholds.pongP99Ms))],
    ws_unexpected_close: [`count<${d.thresholds.maxUnexpectedCloses + 1}`],
    event_errors: [`rate<${d.thresholds.maxErrorRate}`],
  },
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(99)', 'p(99.9)', 'max'],
};

export function soak(): void {
  const vu = exec.vu.idInTest;
  const perVuGapMs = (1000 * vus) / connectRate;
  const endAt = exec.scenario.startTime + durationSec * 1000;
  for (let i = 0; i < socketsPerVu; i++) {
    const slot = (vu - 1) * socketsPerVu + i;
    setTimeout(() => {
      const source = createEventSource({ seed: slot, payloadBytes: 120, idPrefix: `s${slot}.` });
      const timers: ReturnType<typeof setInterval>[] = [];
      const player = openPlayer(credentials((n) => playerId(PP_RUN_ID, 'soak', n), slot), {
        onHello: () => {
          timers.push(setInterval(() => player.ping(), pingSec * 1000));
          if (eventSec > 0) timers.push(setInterval(() => player.sendEvents([source.next(Date.now())]), eventSec * 1000));
        },
        onClose: () => timers.forEach((t) => clearInterval(t)),
      });
      setTimeout(() => player.close(), Math.max(1_000, endAt - Date.now()));
    }, i * perVuGapMs);
  }
}
