/**
 * Opens a generator's sockets at a bounded rate and waits for each `hello` (or a failure),
 * so the measured phase starts with every player connected.
 */
import { playerId } from '../../scenarios/index.ts';
import { connectPlayer, type BenchSocket, type ClientHooks } from './client.ts';
import type { Job, Ready } from './jobs.ts';
import { signBenchToken } from './token.ts';
import { sleep } from '../../../lib/time.ts';

const HELLO_TIMEOUT_MS = 60_000;
const TOKEN_TTL_SEC = 3_600;

export interface PooledPlayer {
  readonly playerId: string;
  readonly index: number;
  socket: BenchSocket;
}

export async function openPool(
  job: Job,
  connectRatePerSec: number,
  hooksFor: (p: PooledPlayer) => ClientHooks,
): Promise<{ players: PooledPlayer[]; ready: Ready }> {
  const t0 = performance.now();
  const players: PooledPlayer[] = [];
  const failures: Record<string, number> = {};
  let failed = 0;
  const gapMs = 1000 / Math.max(1, connectRatePerSec);
  const settled: Promise<void>[] = [];
  for (let i = 0; i < job.players; i++) {
    const id = playerId(job.runId, job.role, job.playerFrom + i);
    const token = signBenchToken(job.secret, id, TOKEN_TTL_SEC);
    const entry = { playerId: id, index: i } as PooledPlayer;
    const hooks = hooksFor(entry);
    settled.push(
      new Promise<void>((resolve) => {
        let done = false;
        const finish = (ok: boolean, why?: string) => {
          if (done) return;
          done = true;
          if (!ok) {
            failed += 1;
            const key = (why ?? 'failed').slice(0, 80);
            failures[key] = (failures[key] ?? 0) + 1;
          }
          resolve();
        };
        setTimeout(() => finish(false, 'no hello in time'), HELLO_TIMEOUT_MS).unref();
        entry.socket = connectPlayer(
          job.url,
          token,
          {
            ...hooks,
            onHello: (now) => {
              finish(true);
              hooks.onHello?.(now);
            },
            onFail: (m) => {
              finish(false, m);
              hooks.onFail?.(m);
            },
            onClose: (code, expected) => {
              finish(false, `closed ${code}`);
              hooks.onClose?.(code, expected);
            },
          },
          job.localAddress,
        );
      }),
    );
    players.push(entry);
    if (gapMs >= 1 || i % Math.max(1, Math.round(1 / gapMs)) === 0) await sleep(Math.max(1, gapMs));
  }
  await Promise.all(settled);
  return {
    players,
    ready: { type: 'ready', connected: job.players - failed, failed, connectMs: Math.round(performance.now() - t0), failures },
  };
}

