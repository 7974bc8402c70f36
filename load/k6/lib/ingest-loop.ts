/**
 * The ingest traffic of one VU: `sockets` players, each streaming batches from the shared
 * event mix at its share of the offered rate (open loop), or keeping `inflightBatches`
 * unacked batches in flight (closed loop, rate 0 = saturation). Ends after `sessionMs`.
 */
import { setInterval, clearInterval, setTimeout } from 'k6/timers';
import { createEventSource, type IngestScenario } from '../../scenarios/index.ts';
import { openPlayer, type PlayerSocket } from './player.ts';
import type { PlayerCredentials } from './token.ts';

export interface IngestLoopOptions {
  readonly scenario: Pick<IngestScenario, 'players' | 'ratePerSec' | 'batchSize' | 'payloadBytes' | 'inflightBatches'>;
  readonly players: PlayerCredentials[];
  readonly sessionMs: number;
  readonly seed: number;
}

export function runIngestLoop(opts: IngestLoopOptions): void {
  const { scenario } = opts;
  const perSocketRate = scenario.ratePerSec / Math.max(1, scenario.players);
  const intervalMs = perSocketRate > 0 ? Math.max(1, Math.round((1000 * scenario.batchSize) / perSocketRate)) : 0;

  opts.players.forEach((creds, i) => {
    const source = createEventSource({ seed: opts.seed + i, payloadBytes: scenario.payloadBytes, idPrefix: `e${opts.seed}.${i}.` });
    let timer: ReturnType<typeof setInterval> | null = null;
    let player: PlayerSocket | null = null;
    const topUp = () => {
      if (!player) return;
      const limit = scenario.inflightBatches * scenario.batchSize;
      while (player.isOpen() && player.inflight() + scenario.batchSize <= limit) {
        player.sendEvents(source.batch(Date.now(), scenario.batchSize));
      }
    };
    player = openPlayer(creds, {
      onHello: () => {
        if (intervalMs > 0) {
          const p = player as PlayerSocket;
          setTimeout(() => {
            timer = setInterval(() => p.sendEvents(source.batch(Date.now(), scenario.batchSize)), intervalMs);
          }, Math.floor(Math.random() * intervalMs));
        } else {
          topUp();
        }
      },
      onAck: () => {
        if (intervalMs === 0) topUp();
      },
      onClose: () => {
        if (timer !== null) clearInterval(timer);
      },
    });
    setTimeout(() => {
      if (timer !== null) clearInterval(timer);
      player?.close();
    }, opts.sessionMs);
  });
}
