/**
 * An offer as pushed to a client in `{ t: "offer", offer }` (docs/contract.md §3) and as kept in
 * the player's pending inbox (Redis, JSON).
 *
 *   offer: { id, ruleId, sku, title?, price: { amount (int, minor units), currency },
 *            discountPct?, quantity? (int >= 1), variant?, expiresAt (int ms), data? }
 */
export interface Offer {
  id: string;
  ruleId: string;
  sku: string;
  title?: string;
  price: { amount: number; currency: string };
  discountPct?: number;
  /** Units of `sku` the offer sells; absent: not stated (one). */
  quantity?: number;
  variant?: string;
  expiresAt: number;
  data?: Record<string, unknown>;
}
