import type { Rule, RuleOffer, Variant } from '../../designer/types.ts';
import { Packr, Unpackr } from 'msgpackr';
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
 * The lifecycle record of one live offer, kept in the player's `ledger` (bounded) from the
 * decision until it ages out. Responses are set once each (first time wins).
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
  /** When the rule's follow-up was decided (decidePlayer-6.lua): it is decided once. */
  readonly followUpAt?: number;
}

/**
 * The ledger is one STRING per player: MessagePack of {offer id: record} (plain maps, as the
 * Lua scripts' cmsgpack reads and writes them). One small string costs far less than a hash
 * whose values are longer than Redis' listpack limit (64 bytes by default), which a record
 * always is; the scripts read and rewrite it whole, at most LEDGER_KEPT records.
 */
const ledgerPackr = new Packr({ useRecords: false, variableMapSize: true, moreTypes: false });
const ledgerUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** The record as stored: without its offer id, which is its key in the ledger. */
export function encodeLedgerRecord(r: LedgerRecord): Buffer {
  const { offerId: _key, ...stored } = r;
  return ledgerPackr.pack(stored);
}

/** Every record of a ledger string, by offer id; an unreadable ledger reads as empty. */
export function decodeLedger(raw: Buffer | null): Map<string, LedgerRecord> {
  const out = new Map<string, LedgerRecord>();
  if (!raw || raw.length === 0) return out;
  let m: unknown;
  try {
    m = ledgerUnpackr.unpack(raw);
  } catch {
    return out;
  }
  if (!m || typeof m !== 'object' || Array.isArray(m)) return out;
  for (const [id, v] of Object.entries(m as Record<string, unknown>)) {
    if (!v || typeof v !== 'object' || Array.isArray(v)) continue;
    const r = v as Record<string, unknown>;
    // cmsgpack drops nil values and packs an empty table as an array: put both back.
    const responses = r.responses && typeof r.responses === 'object' && !Array.isArray(r.responses) ? (r.responses as Record<string, number>) : {};
    out.set(id, { ...(r as unknown as LedgerRecord), offerId: typeof r.offerId === 'string' ? r.offerId : id, variant: typeof r.variant === 'string' ? r.variant : null, responses });
  }
  return out;
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
