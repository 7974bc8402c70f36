/**
 * k6 reconnect storm: players connect and each plays the comeback sequence, leaving the offer
 * unreported so it stays pending. At PP_STORM_AFTER_SEC a share PP_DROP_SHARE of them drop
 * at once and reconnect with the same token. Measured per dropped player: close → `hello` on
 * the new socket (reconnect_hello_ms) and close → the pending offer redelivered
 * (pending_redelivery_ms, pending_redelivered).
 *
 *   k6 run -e PP_URL=wss://play.example.com -e PP_SECRET=... load/k6/dist/reconnect-storm.js
 *
 * Env: PP_CONNECTIONS, PP_SOCKETS_PER_VU, PP_DROP_SHARE, PP_STORM_AFTER_SEC, PP_DURATION_SEC,
 * PP_RULE_ID, PP_REHELLO_P99_MS, PP_REDELIVERY_P99_MS.
 */
import exec from 'k6/execution';
import type { Options } from 'k6/options';
import { setTimeout } from 'k6/timers';
import { createRng, K6_DEFAULTS, playerId, SAMPLE_RULES, type OfferPayload } from '../scenarios/index.ts';
import { below, envNumber, envString, PP_RUN_ID } from './lib/env.ts';
import { playComeback } from './lib/comeback.ts';
import { pendingRedelivered, redeliveryMs, rehelloMs } from './lib/metrics.ts';
import { openPlayer, type PlayerSocket } from './lib/player.ts';
import { credentials, type PlayerCredentials } from './lib/token.ts';

const d = K6_DEFAULTS.reconnectStorm;
const connections = envNumber('PP_CONNECTIONS', d.connections);
const socketsPerVu = Math.max(1, envNumber('PP_SOCKETS_PER_VU', d.socketsPerVu));
const dropShare = Math.min(1, envNumber('PP_DROP_SHARE', d.dropShare));
const stormAfterSec = envNumber('PP_STORM_AFTER_SEC', d.stormAfterSec);
const durationSec = Math.max(stormAfterSec + 10, envNumber('PP_DURATION_SEC', d.durationSec));
const ruleId = envString('PP_RULE_ID', SAMPLE_RULES.comebackRuleId);
const vus = Math.max(1, Math.ceil(connections / socketsPerVu));
const REDELIVERY_TIMEOUT_MS = 10_000;

export const options: Options = {
  scenarios: {
    storm: { executor: 'per-vu-iterations', exec: 'storm', vus, iterations: 1, maxDuration: `${durationSec + 30}s` },
  },
  thresholds: {
    reconnect_hello_ms: [below(99, envNumber('PP_REHELLO_P99_MS', d.thresholds.rehelloP99Ms))],
    pending_redelivery_ms: [below(99, envNumber('PP_REDELIVERY_P99_MS', d.thresholds.redeliveryP99Ms))],
    pending_redelivered: [`rate>${d.thresholds.minRedeliveredShare}`],
  },
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(99)', 'p(99.9)', 'max'],
};

function reconnect(creds: PlayerCredentials, pending: OfferPayload | null, droppedAt: number, endAt: number): void {
  let redelivered = false;
  const again: PlayerSocket = openPlayer(creds, {
    onHello: (now) => rehelloMs.add(now - droppedAt),
    onOffer: (offer, now) => {
      if (!pending || redelivered || offer.id !== pending.id) return;
      redelivered = true;
      redeliveryMs.add(now - droppedAt);
      pendingRedelivered.add(true);
    },
  });
  if (pending) {
    setTimeout(() => {
      if (!redelivered) pendingRedelivered.add(false);
    }, REDELIVERY_TIMEOUT_MS);
  }
  setTimeout(() => again.close(), Math.max(REDELIVERY_TIMEOUT_MS + 1_000, endAt - Date.now()));
}

export function storm(): void {
  const vu = exec.vu.idInTest;
  const start = exec.scenario.startTime;
  const stormAt = start + stormAfterSec * 1000;
  const endAt = start + durationSec * 1000;
  const rng = createRng(vu);
  const spreadMs = Math.max(1, (stormAfterSec * 1000) / 3);
  for (let i = 0; i < socketsPerVu; i++) {
    const creds = credentials((n) => playerId(PP_RUN_ID, 'rs', n), (vu - 1) * socketsPerVu + i);
    const drops = rng() < dropShare;
    setTimeout(() => {
      let pending: OfferPayload | null = null;
      const player = playComeback({
        creds,
        losses: SAMPLE_RULES.lossesToTrigger,
        gapMs: 100,
        ruleId,
        offerTimeoutMs: Math.max(1_000, stormAt - Date.now() - 1_000),
        reportShown: false,
        closeAfter: false,
        done: (offer) => {
          pending = offer;
        },
      });
      setTimeout(() => {
        if (!drops) {
          setTimeout(() => player.close(), Math.max(1_000, endAt - Date.now()));
          return;
        }
        const droppedAt = Date.now();
        player.close();
        reconnect(creds, pending, droppedAt, endAt);
      }, Math.max(0, stormAt - Date.now()));
    }, rng() * spreadMs);
  }
}
