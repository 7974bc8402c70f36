/**
 * Deterministic event streams over the integrity taxonomy (test/integrity/rules/) and the
 * exact player state and offers that applying each distinct event once must give. Pure.
 */
import type { WireEvent } from '../faults/client.ts';
import type { EventRecord } from '../../protocol/record.ts';
import type { StateValue } from './checks.ts';
import { createRng } from '../../load/scenarios/events.ts';

export const RULES_DIR = new URL('./rules/', import.meta.url).pathname;

export interface StreamEvent {
  readonly player: string;
  readonly event: WireEvent;
  /** A resend of an earlier event of the same player (same id, same content). */
  readonly resend: boolean;
}

/** The seeded PRNG the load scenarios use: the same seed gives the same stream. */
export const rng = createRng;

/** One random event of the taxonomy; `lossShare` of match results are losses. */
export function randomEvent(next: () => number, id: string, opts: { lossShare?: number; levelShare?: number } = {}): WireEvent {
  const r = next();
  const levelShare = opts.levelShare ?? 0.1;
  if (r < levelShare) return { id, type: 'level.up', data: { level: 1 + Math.floor(next() * 100) } };
  if (r < levelShare + 0.2) return { id, type: 'shop.purchase', data: { sku: 'coins.small', coins: Math.floor(next() * 500) } };
  const x = next();
  const lossShare = opts.lossShare ?? 0.1;
  const result = x < lossShare ? 'loss' : x < (1 + lossShare) / 2 ? 'win' : 'draw';
  return { id, type: 'match.end', data: { result, duration_s: Math.floor(next() * 900) } };
}

/**
 * `players` players with `perPlayer` distinct events each, interleaved at random (each
 * player's own events stay in order); a `resendShare` of events is followed later by a
 * resend of the same event.
 */
export function generateStream(opts: {
  players: readonly string[];
  perPlayer: number;
  seed: number;
  resendShare?: number;
  lossShare?: number;
  levelShare?: number;
}): StreamEvent[] {
  const next = rng(opts.seed);
  const queues = opts.players.map((player) => {
    const q: StreamEvent[] = [];
    for (let i = 0; i < opts.perPlayer; i++) {
      const event = randomEvent(next, `${player}-e${i}`, opts);
      q.push({ player, event, resend: false });
      if (next() < (opts.resendShare ?? 0)) q.push({ player, event, resend: true });
    }
    return q;
  });
  const out: StreamEvent[] = [];
  const cursors = queues.map(() => 0);
  let live = queues.filter((q) => q.length > 0).length;
  while (live > 0) {
    const i = Math.floor(next() * queues.length);
    const q = queues[i] as StreamEvent[];
    const c = cursors[i] as number;
    if (c >= q.length) continue;
    out.push(q[c] as StreamEvent);
    cursors[i] = c + 1;
    if (c + 1 === q.length) live -= 1;
  }
  return out;
}

/** A Kafka record of one event as the edge would write it (protocol/record.ts). */
export function toRecord(player: string, e: WireEvent, recvAt = Date.now()): EventRecord {
  const r: EventRecord = { v: 1, player, id: e.id, type: e.type, recvAt, edge: 'integrity-producer', session: 'integrity' };
  if (e.ts !== undefined) r.ts = e.ts;
  if (e.data !== undefined) r.data = e.data;
  return r;
}

type Model = {
  events_total: number;
  matches_played: number;
  losses: number;
  loss_streak: number;
  coins_total: number;
  level: number | null;
  max_level: number | null;
  lossEvents: string[];
  levelEvents: string[];
};

/**
 * Per player, the state fields (as stored: built-ins and `p:<name>:<kind>`, see
 * processors/state.ts) that applying each distinct event once, in order, gives. Counters
 * that stayed zero are left out (a field never touched may be absent).
 */
export function expectedStates(events: Iterable<{ player: string; event: WireEvent }>): Map<string, Record<string, StateValue>> {
  const models = modelsOf(events);
  const out = new Map<string, Record<string, StateValue>>();
  for (const [player, m] of models) {
    const s: Record<string, StateValue> = { events_total: m.events_total };
    if (m.matches_played > 0) s['p:matches_played:count'] = m.matches_played;
    if (m.losses > 0) s['p:losses:count'] = m.losses;
    if (m.loss_streak > 0) s['p:loss_streak:streak'] = m.loss_streak;
    if (m.coins_total > 0) s['p:coins_total:sum'] = m.coins_total;
    if (m.level !== null) s['p:level:last'] = m.level;
    if (m.max_level !== null) s['p:max_level:max'] = m.max_level;
    out.set(player, s);
  }
  return out;
}

/** Per player, the ids of the distinct loss events (each must make exactly one `loss-offer`). */
export function expectedLossTriggers(events: Iterable<{ player: string; event: WireEvent }>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [player, m] of modelsOf(events)) out.set(player, m.lossEvents);
  return out;
}

/** Number of distinct level.up events over all players. */
export function distinctLevelUps(events: Iterable<{ player: string; event: WireEvent }>): number {
  let n = 0;
  for (const m of modelsOf(events).values()) n += m.levelEvents.length;
  return n;
}

function modelsOf(events: Iterable<{ player: string; event: WireEvent }>): Map<string, Model> {
  const models = new Map<string, Model>();
  const seen = new Set<string>();
  for (const { player, event } of events) {
    const key = `${player}\u0000${event.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let m = models.get(player);
    if (!m) {
      m = { events_total: 0, matches_played: 0, losses: 0, loss_streak: 0, coins_total: 0, level: null, max_level: null, lossEvents: [], levelEvents: [] };
      models.set(player, m);
    }
    m.events_total += 1;
    const data = event.data ?? {};
    if (event.type === 'match.end') {
      m.matches_played += 1;
      if (data.result === 'loss') {
        m.losses += 1;
        m.loss_streak += 1;
        m.lossEvents.push(event.id);
      } else m.loss_streak = 0;
    } else if (event.type === 'shop.purchase') {
      if (typeof data.coins === 'number') m.coins_total += data.coins;
    } else if (event.type === 'level.up') {
      const level = data.level as number;
      m.level = level;
      m.max_level = m.max_level === null ? level : Math.max(m.max_level, level);
      m.levelEvents.push(event.id);
    }
  }
  return models;
}
