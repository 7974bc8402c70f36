import { hash } from 'node:crypto';
import type { Rule, Variant } from '../../designer/types.ts';

/**
 * Deterministic assignment from ids alone: the same player, rule and event give the same
 * answer on every instance, after every restart, in every replay and backtest. Nothing here
 * reads a clock or a random source.
 */

/** A uniform number in [0, 1) from sha256 of `seed` (first 48 bits). */
export function unitInterval(seed: string): number {
  return hash('sha256', seed, 'buffer').readUIntBE(0, 6) / 2 ** 48;
}

/** Recent `unitInterval` results: a pure function of the seed, so caching changes nothing but cost. */
const recent = new Map<string, number>();
const RECENT_MAX = 100_000;

function cachedUnit(seed: string): number {
  let u = recent.get(seed);
  if (u === undefined) {
    if (recent.size >= RECENT_MAX) recent.clear();
    u = unitInterval(seed);
    recent.set(seed, u);
  }
  return u;
}

/**
 * The experiment arm of a player for a rule, by weight; null for a rule without an
 * experiment. `shares` (one per variant, in order) replaces the weights: a bandit's current
 * allocation (bandit.ts). The player's point in [0, 1) is fixed, so while the shares hold the
 * player keeps their arm, and when they move only the players near a boundary change arm.
 * A bandit rule lays its holdout arms out first: their shares never change, so neither does
 * who is in them, however the other arms' shares move.
 */
export function assignVariant(playerId: string, rule: Pick<Rule, 'id' | 'experiment'>, shares?: readonly number[]): Variant | null {
  const variants = rule.experiment?.variants;
  if (!variants || variants.length === 0) return null;
  const byShare = shares !== undefined && shares.length === variants.length;
  let total = 0;
  for (let i = 0; i < variants.length; i += 1) total += Math.max(0, byShare ? (shares[i] ?? 0) : (variants[i]?.weight ?? 0));
  if (total <= 0) return null;
  let point = cachedUnit(`arm\u0000${rule.id}\u0000${playerId}`) * total;
  const order = rule.experiment?.bandit ? holdoutsFirst(variants) : null;
  for (let k = 0; k < variants.length; k += 1) {
    const i = order ? (order[k] ?? k) : k;
    const v = variants[i] as Variant;
    const w = Math.max(0, byShare ? (shares[i] ?? 0) : v.weight);
    if (point < w) return v;
    point -= w;
  }
  return variants[variants.length - 1] ?? null;
}

const layouts = new WeakMap<readonly Variant[], number[]>();

/** Indices of the variants, holdout arms first, each group in declaration order. */
function holdoutsFirst(variants: readonly Variant[]): number[] {
  let order = layouts.get(variants);
  if (!order) {
    const idx = variants.map((_, i) => i);
    order = [...idx.filter((i) => variants[i]?.holdout), ...idx.filter((i) => !variants[i]?.holdout)];
    layouts.set(variants, order);
  }
  return order;
}

/** True when the player belongs to the global holdout (`policy.holdout.percent`, 0..100). */
export function inHoldout(playerId: string, percent: number): boolean {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  return cachedUnit(`holdout\u0000${playerId}`) * 100 < percent;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32 (lower case, no padding). */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The offer id of (rule, player, triggering event): 26 base32 characters of sha256 (130
 * bits), prefixed `o`. A replay of the same event can only ever name the same offer.
 * Contains no `:` so it can be part of a BullMQ job id.
 */
export function offerIdFor(ruleId: string, playerId: string, eventId: string): string {
  // One-shot `hash`: about half the cost of a `createHash` object for a short input.
  const digest = hash('sha256', `${ruleId}\u0000${playerId}\u0000${eventId}`, 'buffer');
  return `o${base32(digest.subarray(0, 17)).slice(0, 26)}`;
}
