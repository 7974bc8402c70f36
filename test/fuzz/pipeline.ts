/**
 * The edge's pure frame path, as a fuzz target: bytes → decodeFrame → parseClientFrame →
 * validateEvent for each event, against a fixed taxonomy. Returns what the client would be
 * told: `bad_frame` for the whole frame, or per event `ok` / `bad_event`. Any throw out of
 * here is a fuzz failure.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect } from 'vitest';
import type { EventSpec, FieldSpec, ValueType } from '../../designer/types.ts';
import { decodeFrame } from '../../protocol/codec.ts';
import { parseClientFrame } from '../../protocol/client-frames.ts';
import { validateEvent, type EventCheck } from '../../protocol/validate-event.ts';

export type Outcome =
  | { kind: 'bad_frame'; message: string }
  | { kind: 'ping' }
  | { kind: 'events'; results: EventCheck[] };

function field(name: string, type: ValueType, opts: { required?: boolean; enum?: string[] } = {}): FieldSpec {
  return { name, type, enum: opts.enum ?? null, required: opts.required ?? false };
}

function spec(type: string, fields: FieldSpec[], builtin = false): EventSpec {
  return { type, builtin, fields: new Map(fields.map((f) => [f.name, f])) };
}

/** A taxonomy with every field type, enums and required fields. */
export const TAXONOMY: ReadonlyMap<string, EventSpec> = new Map(
  [
    spec('match.end', [field('result', 'string', { required: true, enum: ['win', 'loss', 'draw'] }), field('duration_s', 'int'), field('mode', 'string')]),
    spec('shop.purchase', [field('sku', 'string', { required: true }), field('coins', 'int')]),
    spec('level.up', [field('level', 'int', { required: true })]),
    spec('stats.sample', [field('score', 'double', { required: true }), field('flag', 'bool'), field('tags', 'list'), field('meta', 'map'), field('at', 'timestamp')]),
    spec('offer.shown', [field('offerId', 'string', { required: true })], true),
  ].map((s) => [s.type, s]),
);

export function classify(bytes: Uint8Array): Outcome {
  const decoded = decodeFrame(bytes);
  if (!decoded.ok) return { kind: 'bad_frame', message: decoded.message };
  const parsed = parseClientFrame(decoded.frame);
  if (!parsed.ok) return { kind: 'bad_frame', message: parsed.message };
  if (parsed.frame.t === 'ping') return { kind: 'ping' };
  return { kind: 'events', results: parsed.frame.events.map((e) => validateEvent(e, TAXONOMY)) };
}

/** Snapshot of Object.prototype's own keys and descriptors, to prove nothing was added or replaced. */
export function prototypeSnapshot(): string {
  const names = Object.getOwnPropertyNames(Object.prototype).sort();
  return JSON.stringify(names.map((n) => [n, typeof (Object.getOwnPropertyDescriptor(Object.prototype, n)?.value ?? 'accessor')]));
}

/** True when `value` and everything in it are plain data whose prototypes are untouched. */
export function plainAllTheWay(value: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (value === null || typeof value !== 'object') return true;
  if (ArrayBuffer.isView(value)) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  if (Array.isArray(value)) return proto === Array.prototype && value.every((v) => plainAllTheWay(v, depth + 1));
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.hasOwn(value, '__proto__')) return false;
  return Object.values(value).every((v) => plainAllTheWay(v, depth + 1));
}

/** Cases run in this worker, by property, so a test file can report its total. */
export const casesRun = new Map<string, number>();

export function countCases(name: string, n: number): void {
  casesRun.set(name, (casesRun.get(name) ?? 0) + n);
}

/** Case counts scale with FUZZ_RUNS (default 1): `fuzzRuns(n)` is n times it, at least 1. */
export function fuzzRuns(n: number): number {
  return Math.max(1, Math.round(n * Number(process.env.FUZZ_RUNS ?? '1')));
}

/** Registers the file's hooks: Object.prototype is the same after the file as before, and the cases run are printed under `label`. */
export function guardPrototype(label: string): void {
  let before = '';
  beforeAll(() => {
    before = prototypeSnapshot();
  });
  afterAll(() => {
    expect(prototypeSnapshot()).toBe(before);
    const total = [...casesRun.values()].reduce((a, b) => a + b, 0);
    console.log(`fuzz cases run (${label}): ${total} — ${JSON.stringify(Object.fromEntries(casesRun))}`);
  });
}

/** Runs a property for fuzzRuns(numRuns) cases, counts them, and checks Object.prototype after every case. */
export function checkProperty<T>(name: string, arb: fc.Arbitrary<T>, predicate: (v: T) => void, numRuns: number): void {
  const n = fuzzRuns(numRuns);
  fc.assert(
    fc.property(arb, (v) => {
      predicate(v);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    }),
    { numRuns: n },
  );
  countCases(name, n);
}
