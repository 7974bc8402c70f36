import { Packr, Unpackr } from 'msgpackr';
import type { ShapedField } from '../../designer/types.ts';
import { FIXED_REASONS, OUTCOMES, type DecisionRecord, type Outcome, type RuleDecision, type ShapedValue } from './explain.ts';
import { errorMessage } from '../../lib/errors.ts';

/**
 * The compact form of a decision in the player's `decisions` list in Redis: MessagePack of
 * positional arrays, no field names, the outcome as its index in OUTCOMES and a fixed reason
 * left out (it follows from the outcome). The full record, as the admin API serves it, is
 * what `decodeDecision` gives back: the two are equal for every record (explain-codec.test.ts).
 * The Kafka decision stream (decision-log.ts, version 3) carries these same bytes.
 *
 *   [1, eventId, eventType, at, bundleVersion, offerId | nil, followUpOf | nil, rules]
 *   rule = [ruleId, 0 live | 1 shadow, priority, variant | nil, outcome index,
 *           reason | nil, until | nil, offerId | nil, values, error | nil, shaped?]
 *   values: the condition's reads, with the heads `event.data.`, `player.` and `event.`
 *           written as one control character each
 *   shaped: present only when the rule's offer had shaped fields (appended later: records
 *           without it, and readers that stop at `error`, stay valid):
 *           [[field index, outcome index, value, computed | nil, error | nil, inputs], …]
 *           field and outcome indexes into SHAPED_FIELDS and SHAPED_OUTCOMES; inputs packed
 *           like values
 */
const FORMAT = 1;

const packr = new Packr({ useRecords: false, variableMapSize: true, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

const OUTCOME_INDEX = new Map<Outcome, number>(OUTCOMES.map((o, i) => [o, i]));
/** Append only: stored records name a field and an outcome by index. */
const SHAPED_FIELDS: readonly ShapedField[] = ['price.amount', 'discountPct', 'quantity', 'title'];
const SHAPED_OUTCOMES: readonly ShapedValue['outcome'][] = ['computed', 'clamped', 'fallback'];

function packShaped(list: readonly ShapedValue[]): unknown[] {
  return list.map((v) => [SHAPED_FIELDS.indexOf(v.field), SHAPED_OUTCOMES.indexOf(v.outcome), v.value, v.computed ?? null, v.error ?? null, packValues(v.inputs)]);
}

function unpackShaped(list: unknown): ShapedValue[] {
  if (!Array.isArray(list)) return [];
  return (list as unknown[][]).map((e): ShapedValue => {
    const field = SHAPED_FIELDS[e[0] as number];
    const outcome = SHAPED_OUTCOMES[e[1] as number];
    if (!field || !outcome) throw new DecisionDecodeError(`unknown shaped field or outcome ${String(e[0])}/${String(e[1])}`);
    return {
      field,
      outcome,
      value: e[2] as number | string,
      ...(e[3] !== null && e[3] !== undefined ? { computed: e[3] as number | string } : {}),
      ...(typeof e[4] === 'string' ? { error: e[4] } : {}),
      inputs: unpackValues((e[5] ?? {}) as Record<string, unknown>),
    };
  });
}
const fixedReason = (o: Outcome): string | undefined => (FIXED_REASONS as Readonly<Record<string, string>>)[o];

export function encodeDecision(d: DecisionRecord): Buffer {
  const rules = d.rules.map((r) => {
    const row: unknown[] = [
      r.ruleId,
      r.mode === 'live' ? 0 : 1,
      r.priority,
      r.variant,
      OUTCOME_INDEX.get(r.outcome) ?? -1,
      r.reason === fixedReason(r.outcome) ? null : r.reason,
      r.until ?? null,
      r.offerId ?? null,
      packValues(r.values),
      r.error ?? null,
    ];
    if (r.shaped && r.shaped.length > 0) row.push(packShaped(r.shaped));
    return row;
  });
  return packr.pack([FORMAT, d.eventId, d.eventType, d.at, d.bundleVersion, d.offerId, d.followUpOf ?? null, rules]);
}

export class DecisionDecodeError extends Error {}

/** The records of a player's `decisions` string (decidePlayers-n.lua): each a 4-byte big-endian length and its bytes, newest first. */
export function splitDecisions(raw: Buffer | null): Buffer[] {
  const out: Buffer[] = [];
  if (!raw) return out;
  let pos = 0;
  while (pos + 4 <= raw.length) {
    const len = raw.readUInt32BE(pos);
    if (pos + 4 + len > raw.length) break;
    out.push(raw.subarray(pos + 4, pos + 4 + len));
    pos += 4 + len;
  }
  return out;
}

/** The player's decisions kept in Redis, newest first; records that do not decode are left out. */
export function decodeDecisionList(raw: Buffer | null): DecisionRecord[] {
  const out: DecisionRecord[] = [];
  for (const b of splitDecisions(raw)) {
    try {
      out.push(decodeDecision(b));
    } catch {
      // Written by another version: the decision stream holds it in full.
    }
  }
  return out;
}

/**
 * Condition reads name paths like `event.data.result` or `player.loss_streak`: the common
 * heads are kept as one control character each; a path that itself starts with one of
 * these characters (or the escape) is kept whole behind the escape \u0004.
 */
const HEADS: readonly [string, string][] = [
  ['event.data.', '\u0001'],
  ['player.', '\u0002'],
  ['event.', '\u0003'],
];
const ESCAPE = '\u0004';
/** Packed paths by path: a bundle's conditions read a few paths, packed on every decision. */
const packedPaths = new Map<string, string>();
function packPath(path: string): string {
  let packed = packedPaths.get(path);
  if (packed === undefined) {
    packed = packPathOnce(path);
    if (packedPaths.size >= 10_000) packedPaths.clear();
    packedPaths.set(path, packed);
  }
  return packed;
}
function packPathOnce(path: string): string {
  for (const [head, mark] of HEADS) if (path.startsWith(head)) return mark + path.slice(head.length);
  const c = path.charCodeAt(0);
  return c >= 1 && c <= 4 ? ESCAPE + path : path;
}
function unpackPath(path: string): string {
  if (path.startsWith(ESCAPE)) return path.slice(1);
  for (const [head, mark] of HEADS) if (path.startsWith(mark)) return head + path.slice(mark.length);
  return path;
}
function packValues(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in values) out[packPath(k)] = values[k];
  return out;
}
function unpackValues(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) out[unpackPath(k)] = v;
  return out;
}

export function decodeDecision(bytes: Buffer): DecisionRecord {
  let a: unknown;
  try {
    a = unpackr.unpack(bytes);
  } catch (err) {
    throw new DecisionDecodeError(`not a compact decision record: ${errorMessage(err)}`);
  }
  if (!Array.isArray(a) || a[0] !== FORMAT || !Array.isArray(a[7])) throw new DecisionDecodeError('not a compact decision record');
  const rules = (a[7] as unknown[][]).map((r): RuleDecision => {
    const outcome = OUTCOMES[r[4] as number];
    if (!outcome) throw new DecisionDecodeError(`unknown outcome index ${String(r[4])}`);
    const reason = typeof r[5] === 'string' ? r[5] : (fixedReason(outcome) ?? outcome);
    return {
      ruleId: r[0] as string,
      mode: r[1] === 0 ? 'live' : 'shadow',
      priority: r[2] as number,
      variant: (r[3] ?? null) as string | null,
      outcome,
      reason,
      ...(typeof r[6] === 'number' ? { until: r[6] } : {}),
      ...(typeof r[7] === 'string' ? { offerId: r[7] } : {}),
      values: unpackValues((r[8] ?? {}) as Record<string, unknown>),
      ...(typeof r[9] === 'string' ? { error: r[9] } : {}),
      ...(Array.isArray(r[10]) ? { shaped: unpackShaped(r[10]) } : {}),
    };
  });
  return {
    eventId: a[1] as string,
    eventType: a[2] as string,
    at: a[3] as number,
    bundleVersion: a[4] as number,
    offerId: (a[5] ?? null) as string | null,
    rules,
    ...(typeof a[6] === 'string' ? { followUpOf: a[6] } : {}),
  };
}
