/**
 * Event generation shared by the k6 scripts and the bench load generators: a seeded PRNG,
 * the event mix over the sample taxonomy (offers/rules/events.yaml) and the comeback
 * sequence that satisfies the sample `comeback-bundle` rule. Plain TypeScript: no Node
 * and no k6 imports, so both runtimes bundle it unchanged.
 */

/** One client event as it goes inside `evs.events` (docs/contract.md §3), without `t`. */
export interface WireEvent {
  id: string;
  type: string;
  ts?: number;
  data?: Record<string, unknown>;
  /** Place in the socket's stream (stream.ts), given at first send. */
  seq?: number;
}

/** A small, fast, seeded PRNG (mulberry32): the same seed gives the same traffic. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface MixEntry {
  readonly type: string;
  /** Relative share of events of this type. */
  readonly weight: number;
  /** `data` for one event; `pad` is a filler string that brings the frame to the scenario's payload size. */
  readonly data: (rng: () => number, pad: string) => Record<string, unknown>;
}

const MODES = ['ranked', 'casual', 'event'] as const;
const SKUS = ['coins.small', 'coins.large', 'skin.rare', 'pass.season'] as const;
const PLATFORMS = ['ios', 'android', 'pc', 'console'] as const;
const TABS = ['featured', 'bundles', 'coins', 'cosmetics'] as const;

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length) % items.length] as T;
}

/**
 * The ingest mix over the sample taxonomy: mostly match traffic, some sessions, store
 * visits, spending and level-ups. Losses are rare enough that background traffic seldom
 * builds a loss streak by chance.
 */
export const EVENT_MIX: readonly MixEntry[] = [
  {
    type: 'match.end',
    weight: 40,
    data: (rng, pad) => ({
      result: rng() < 0.1 ? 'loss' : pick(rng, ['win', 'draw'] as const),
      duration_s: 60 + Math.floor(rng() * 900),
      mode: pad.length > 0 ? `${pick(rng, MODES)}:${pad}` : pick(rng, MODES),
      score: Math.floor(rng() * 5_000),
      kills: Math.floor(rng() * 30),
    }),
  },
  { type: 'match.start', weight: 30, data: (rng) => ({ mode: pick(rng, MODES), map: `map-${1 + Math.floor(rng() * 12)}` }) },
  { type: 'session.start', weight: 5, data: (rng) => ({ platform: pick(rng, PLATFORMS), app_version: '1.4.2' }) },
  { type: 'store.open', weight: 5, data: (rng) => ({ tab: pick(rng, TABS) }) },
  { type: 'currency.spend', weight: 8, data: (rng) => ({ coins: 10 * (1 + Math.floor(rng() * 50)), item: pick(rng, SKUS) }) },
  { type: 'shop.purchase', weight: 2, data: (rng) => ({ sku: pick(rng, SKUS), coins: 100 * (1 + Math.floor(rng() * 20)) }) },
  { type: 'level.up', weight: 10, data: (rng) => ({ level: 1 + Math.floor(rng() * 99) }) },
];

/** Padding goes into `match.end.mode`, so it lands in 40% of events at 2.5× the length. */
const PADDED_SHARE = 0.4;

/** Approximate encoded size of one mix event without padding (id, type, ts, data). */
export const BASE_EVENT_BYTES = 75;

/** A filler string so that the average event is about `payloadBytes` encoded. */
export function paddingFor(payloadBytes: number): string {
  const n = Math.max(0, Math.min(8_000, Math.round((payloadBytes - BASE_EVENT_BYTES) / PADDED_SHARE)));
  return 'x'.repeat(n);
}

/** Draws event types from a mix by weight; `next()` returns a fresh event with a unique id for its player. */
export function createEventSource(opts: { seed: number; mix?: readonly MixEntry[]; payloadBytes: number; idPrefix: string }) {
  const mix = opts.mix ?? EVENT_MIX;
  const rng = createRng(opts.seed);
  const pad = paddingFor(opts.payloadBytes);
  const total = mix.reduce((s, e) => s + e.weight, 0);
  let seq = 0;
  const choose = (): MixEntry => {
    let r = rng() * total;
    for (const entry of mix) {
      r -= entry.weight;
      if (r < 0) return entry;
    }
    return mix[mix.length - 1] as MixEntry;
  };
  return {
    next(now: number): WireEvent {
      const entry = choose();
      seq += 1;
      return { id: `${opts.idPrefix}${seq.toString(36)}`, type: entry.type, ts: now, data: entry.data(rng, pad) };
    },
    batch(now: number, size: number): WireEvent[] {
      const out: WireEvent[] = [];
      for (let i = 0; i < size; i++) out.push(this.next(now));
      return out;
    },
  };
}

/**
 * The comeback sequence: `match.end` with result "loss" `losses` times in a row. Against the
 * sample rules the last one satisfies `player.loss_streak >= 3` and triggers `comeback-bundle`.
 */
export function comebackSequence(idPrefix: string, losses: number, now: number): WireEvent[] {
  const out: WireEvent[] = [];
  for (let i = 1; i <= losses; i++) {
    out.push({ id: `${idPrefix}L${i}`, type: 'match.end', ts: now, data: { result: 'loss', duration_s: 300 + i, mode: 'ranked' } });
  }
  return out;
}

/** The event that reports an offer as shown (docs/contract.md §3, reserved types). */
export function offerShownEvent(id: string, offerId: string, now: number): WireEvent {
  return { id, type: 'offer.shown', ts: now, data: { offerId } };
}
