import type { ConditionInput, ValueType } from '../designer/types.ts';
import type { EventRecord } from '../protocol/record.ts';
import type { ApplyPlan } from './plan.ts';

/**
 * Turns one event into the op list of the apply script, in JS: evaluates each applicable
 * property's `when` on the event and extracts its `field`. Pure.
 *
 * Ops are pairs `(property index, value)`: count → 1; streak → 1 (the event matches `when`)
 * or 0 (it does not: the streak resets); sum/min/max → the number; last → the value as
 * stored, a string (numbers as JS prints them, booleans "1"/"0", strings as is).
 *
 * A `field` that is missing (or null) updates nothing. A field of the wrong type (a string
 * where a number is expected, a fraction for an int) is a FieldTypeError: that property is
 * skipped, every other property of the event still applies.
 */
export interface FieldTypeError {
  readonly property: string;
  readonly path: string;
  readonly expected: ValueType;
  readonly got: string;
}

export interface ConditionError {
  readonly property: string;
  readonly error: string;
}

export interface EventOps {
  /** Flat `[index, value, index, value, …]`. */
  readonly ops: (number | string)[];
  readonly fieldErrors: FieldTypeError[] | null;
  readonly conditionErrors: ConditionError[] | null;
}

const EMPTY_PLAYER: Readonly<Record<string, unknown>> = Object.freeze({});
const EMPTY_DATA: Readonly<Record<string, unknown>> = Object.freeze({});

/** The `event` a property's `when` sees. `ts` is the client's clock if it sent one, else the receive time. */
export function conditionInput(record: EventRecord): ConditionInput {
  return {
    event: { type: record.type, id: record.id, ts: record.ts ?? record.recvAt, data: record.data ?? EMPTY_DATA },
    player: EMPTY_PLAYER,
  };
}

export function eventOps(plan: ApplyPlan, record: EventRecord): EventOps {
  const props = plan.byEvent.get(record.type);
  const ops: (number | string)[] = [];
  if (!props) return { ops, fieldErrors: null, conditionErrors: null };
  let fieldErrors: FieldTypeError[] | null = null;
  let conditionErrors: ConditionError[] | null = null;
  let input: ConditionInput | null = null;
  for (const p of props) {
    let matches = true;
    const when = p.spec.when;
    if (when) {
      input ??= conditionInput(record);
      const r = when.evaluate(input);
      matches = r.value === true;
      if (r.error !== undefined) (conditionErrors ??= []).push({ property: p.spec.name, error: r.error });
    }
    if (p.code === 'k') {
      ops.push(p.index, matches ? 1 : 0);
      continue;
    }
    if (!matches) continue;
    if (p.code === 'c' || p.code === 'C') {
      ops.push(p.index, 1);
      continue;
    }
    const raw = readPath(record, p.spec.field as readonly string[]);
    if (raw === undefined || raw === null) continue;
    const value = encodeValue(raw, p.fieldType as ValueType, p.code === 'l');
    if (value === null) {
      (fieldErrors ??= []).push({ property: p.spec.name, path: p.fieldPath as string, expected: p.fieldType as ValueType, got: describe(raw) });
      continue;
    }
    ops.push(p.index, p.code === 'l' ? value : (raw as number));
  }
  return { ops, fieldErrors, conditionErrors };
}

/** Own properties only, through plain objects only. */
export function readPath(root: unknown, path: readonly string[]): unknown {
  let v: unknown = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, seg)) return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

/** The op value for `raw`, or null when `raw` is not of type `type`. Only `last` takes non-numbers. */
export function encodeValue(raw: unknown, type: ValueType, last: boolean): string | null {
  switch (type) {
    case 'int':
    case 'timestamp':
      return typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : null;
    case 'double':
      return typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : null;
    case 'string':
      return last && typeof raw === 'string' ? raw : null;
    case 'bool':
      return last && typeof raw === 'boolean' ? (raw ? '1' : '0') : null;
    default:
      return null;
  }
}

/** A stored value back as the rules see it. */
export function decodeValue(stored: string, type: ValueType): number | string | boolean | null {
  switch (type) {
    case 'int':
    case 'double':
    case 'timestamp':
      return Number(stored);
    case 'bool':
      return stored === '1';
    case 'string':
      return stored;
    default:
      return null;
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'number') return Number.isInteger(v) ? `int ${v}` : `double ${v}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v === 'object' ? 'map' : typeof v;
}

