import type { ConditionInput, Rule, RuleOffer, ShapedSpec, Variant } from '../../designer/types.ts';
import type { Considered } from './evaluate.ts';
import type { ShapedValue } from './explain.ts';
import { readValues } from './input.ts';
import { Packr, Unpackr } from 'msgpackr';
import type { Offer } from '../../protocol/offer.ts';

const NO_SHAPED: readonly ShapedValue[] = Object.freeze([]);

function shapedValue(spec: ShapedSpec, input: ConditionInput): ShapedValue {
  return { field: spec.field, ...spec.evaluate(input), inputs: readValues(input, spec.reads) };
}

/**
 * The offer a rule makes for a player's arm at `now` (the event's recvAt); the arm overrides
 * offer fields. Shaped fields are computed here from `input`, once per offer made, in
 * process; `shaped` is what each came to, for the explanation.
 */
export function buildOffer(rule: Rule, variant: Variant | null, offerId: string, now: number, input: ConditionInput): { offer: Offer; shaped: readonly ShapedValue[] } {
  const o: RuleOffer = variant ? { ...rule.offer, ...variant.offer } : rule.offer;
  let title = o.title;
  let amount = o.price.amount;
  let discountPct = o.discountPct;
  let quantity = o.quantity ?? null;
  let shaped = NO_SHAPED;
  if (o.shaped && o.shaped.length > 0) {
    shaped = o.shaped.map((spec) => shapedValue(spec, input));
    for (const s of shaped) {
      if (s.field === 'title') title = String(s.value);
      else if (s.field === 'price.amount') amount = Number(s.value);
      else if (s.field === 'discountPct') discountPct = Number(s.value);
      else quantity = Number(s.value);
    }
  }
  const offer: Offer = {
    id: offerId,
    ruleId: rule.id,
    sku: o.sku,
    ...(title !== null && title !== undefined ? { title } : {}),
    price: { amount, currency: o.price.currency },
    ...(discountPct !== null && discountPct !== undefined ? { discountPct } : {}),
    ...(quantity !== null ? { quantity } : {}),
    ...(variant ? { variant: variant.name } : {}),
    expiresAt: now + rule.offer.ttlMs,
    ...(o.data !== null && o.data !== undefined ? { data: { ...o.data } } : {}),
  };
  return { offer, shaped };
}

/**
 * The shaped values each rule's explanation records, by rule id: the winner's (computed by
 * buildOffer), and those a shadow rule's offer would have had; undefined when there are none.
 */
export function shapedByRule(
  considered: readonly Considered[],
  verdicts: ReadonlyMap<string, unknown>,
  winner: { readonly ruleId: string; readonly shaped: readonly ShapedValue[] } | null,
  input: ConditionInput,
): ReadonlyMap<string, readonly ShapedValue[]> | undefined {
  let out: Map<string, readonly ShapedValue[]> | undefined;
  if (winner && winner.shaped.length > 0) (out ??= new Map()).set(winner.ruleId, winner.shaped);
  for (const c of considered) {
    if (c.rule.mode !== 'shadow' || c.pre !== null || verdicts.get(c.rule.id) !== null) continue;
    // An arm that overrides a shaped-able field carries its whole list (RuleOffer.shaped).
    const specs = c.variant?.offer.shaped ?? c.rule.offer.shaped;
    if (!specs || specs.length === 0) continue;
    (out ??= new Map()).set(c.rule.id, specs.map((spec) => shapedValue(spec, input)));
  }
  return out;
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
  /** When the rule's follow-up was decided (decidePlayers-n.lua): it is decided once. */
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
