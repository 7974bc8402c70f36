/**
 * Apply-then-decide in rounds, cut so every decision sees the player as of its own event.
 * Processors apply a chunk to Redis before the decider runs over it, and the apply script
 * moves `last_purchase_at` (which fatigue reads) when it applies an `offer.purchased`. A
 * purchase applied in the same round as an earlier event of that player would be seen by
 * that earlier decision. So a player's purchase that follows one of their events in the
 * current round starts their next round. Each player's events keep their order (round by
 * round); players without such a purchase stay in the first round. Pure, deterministic.
 */
export function splitAtPurchases<T extends { readonly record: { readonly player: string; readonly type: string } }>(items: readonly T[]): T[][] {
  const rounds: T[][] = [];
  const round = new Map<string, { index: number; used: boolean }>();
  for (const item of items) {
    const p = item.record.player;
    let r = round.get(p);
    if (!r) {
      r = { index: 0, used: false };
      round.set(p, r);
    }
    if (item.record.type === 'offer.purchased' && r.used) {
      r.index += 1;
      r.used = false;
    }
    r.used = true;
    (rounds[r.index] ??= []).push(item);
  }
  return rounds;
}
