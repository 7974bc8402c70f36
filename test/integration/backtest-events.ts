import type { EventRecord } from '../../protocol/record.ts';
import { offerIdFor } from '../../offers/engine/hashing.ts';
import { createRng } from '../../load/scenarios/events.ts';

/**
 * A recorded day of the sample game (offers/rules) for backtest tests: `players` players
 * with seeded-random sessions, matches, store visits, level-ups, shop purchases, and
 * responses to the offers the sample rules would make (their ids are deterministic, so a
 * response names the offer the engine makes for that event, if it makes one). Events of
 * one player are in recvAt order; the whole list is sorted by recvAt.
 */
export interface RecordedEvents {
  readonly records: EventRecord[];
  readonly from: number;
  readonly to: number;
}

export function recordedEvents(opts: { players: number; events: number; start: number; spanMs: number; seed?: number }): RecordedEvents {
  const rand = createRng(opts.seed ?? 42);
  const perPlayer = Math.max(4, Math.round(opts.events / opts.players));
  const records: EventRecord[] = [];
  for (let p = 0; p < opts.players; p++) {
    const player = `pl-${p}`;
    const whale = rand() < 0.05;
    let t = opts.start + Math.floor(rand() * (opts.spanMs / 4));
    const step = Math.max(1, Math.floor((opts.spanMs * 0.7) / perPlayer));
    let seq = 0;
    let level = Math.floor(rand() * 8);
    let lossStreak = 0;
    let winStreak = 0;
    const push = (type: string, data?: Record<string, unknown>) => {
      seq += 1;
      t += 1 + Math.floor(rand() * step);
      const id = `${player}-e${seq}`;
      records.push({ v: 1, player, id, type, ...(data ? { data } : {}), recvAt: t, edge: 'edge-bt', session: `${player}-s` });
      return id;
    };
    if (whale) push('shop.purchase', { sku: 'coins.big', coins: 5000, amount: 6000 + Math.floor(rand() * 4000), currency: 'USD' });
    push('session.start', { platform: 'pc' });
    while (seq < perPlayer) {
      const r = rand();
      if (r < 0.6) {
        const result = rand() < 0.55 ? 'loss' : rand() < 0.85 ? 'win' : 'draw';
        lossStreak = result === 'loss' ? lossStreak + 1 : 0;
        winStreak = result === 'win' ? winStreak + 1 : 0;
        const id = push('match.end', { result, duration_s: 200 + Math.floor(rand() * 400), mode: 'ranked', score: Math.floor(rand() * 3000) });
        if (lossStreak >= 3 && rand() < 0.5) respond(push, offerIdFor('comeback-bundle', player, id), rand);
      } else if (r < 0.72) {
        const id = push('store.open', { tab: 'bundles' });
        if (rand() < 0.3) respond(push, offerIdFor('starter-pack', player, id), rand);
      } else if (r < 0.82) {
        level += 1;
        const id = push('level.up', { level });
        if (level % 10 === 0 && rand() < 0.5) respond(push, offerIdFor('level-milestone', player, id), rand);
      } else if (r < 0.87) {
        push('shop.purchase', { sku: 'coins.small', coins: 100, amount: 199, currency: 'USD' });
      } else if (r < 0.95) {
        push('match.start', { mode: 'ranked' });
      } else {
        push('session.start', { platform: 'pc' });
      }
    }
  }
  records.sort((a, b) => a.recvAt - b.recvAt || (a.player < b.player ? -1 : a.player > b.player ? 1 : 0));
  const last = records[records.length - 1]?.recvAt ?? opts.start;
  return { records, from: opts.start, to: last + 1 };
}

function respond(push: (type: string, data?: Record<string, unknown>) => string, offerId: string, rand: () => number): void {
  push('offer.shown', { offerId });
  const r = rand();
  if (r < 0.35) push('offer.purchased', { offerId });
  else if (r < 0.6) push('offer.declined', { offerId });
}
