import type { Rule, RuleOffer, Variant } from '../../offers/designer/types.ts';
import type { Offer } from '../../protocol/offer.ts';

/** The offer a rule makes for a player's arm at `now` (the event's recvAt); the arm overrides offer fields. */
export function buildOffer(rule: Rule, variant: Variant | null, offerId: string, now: number): Offer {
  const o: RuleOffer = { ...rule.offer, ...(variant?.offer ?? {}) };
  return {
    id: offerId,
    ruleId: rule.id,
    sku: o.sku,
    ...(o.title !== null && o.title !== undefined ? { title: o.title } : {}),
    price: { amount: o.price.amount, currency: o.price.currency },
    ...(o.discountPct !== null && o.discountPct !== undefined ? { discountPct: o.discountPct } : {}),
    ...(variant ? { variant: variant.name } : {}),
    expiresAt: now + rule.offer.ttlMs,
    ...(o.data !== null && o.data !== undefined ? { data: { ...o.data } } : {}),
  };
}

/**
 * The lifecycle record of one live offer, kept in the player's `ledger` hash (bounded) from
 * the decision until it ages out. Responses are set once each (first time wins).
 */
export interface LedgerRecord {
  readonly offerId: string;
  readonly ruleId: string;
  readonly variant: string | null;
  readonly eventId: string;
  readonly sku: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly price: { readonly amount: number; readonly currency: string };
  /** Response kind -> time (ms): shown, accepted, declined, purchased, expired, granted, follow_up. */
  readonly responses: Readonly<Record<string, number>>;
  /** Purchase amount (minor units), once purchased. */
  readonly revenue?: number;
}

export function newLedgerRecord(offer: Offer, eventId: string, now: number): LedgerRecord {
  return {
    offerId: offer.id,
    ruleId: offer.ruleId,
    variant: offer.variant ?? null,
    eventId,
    sku: offer.sku,
    createdAt: now,
    expiresAt: offer.expiresAt,
    price: offer.price,
    responses: {},
  };
}

/** Stats label of an arm: the variant name, or "default" for a rule without an experiment. */
export function variantLabel(variant: string | null | undefined): string {
  return variant ?? 'default';
}
