import { Packr } from 'msgpackr';
import type { Bundle, PropertyKind, PropertySpec, ValueType } from '../designer/types.ts';
import { DEFAULT_RETENTION_MS } from '../designer/policy.ts';
import { windowGeometry, type WindowGeometry } from './window.ts';

/**
 * The properties of one bundle, compiled once into what the apply script executes. Pure.
 *
 * Each property gets a 1-based index (its position in the bundle), a kind code the script
 * understands and a storage field. The storage field carries the kind (and the window
 * geometry), so changing a property's kind or window starts it afresh, while changing its
 * event, `when` or `field` keeps the value and applies the new definition from then on.
 */
export type KindCode = 'c' | 's' | 'n' | 'x' | 'l' | 'k' | 'C' | 'S';

export interface PropertyPlan {
  readonly index: number;
  readonly spec: PropertySpec;
  readonly code: KindCode;
  /** Field in the player's `state` hash, or in `windows` for a windowed property. */
  readonly storageField: string;
  readonly window: WindowGeometry | null;
  /** What `field` values must be (sum/min/max/last); null for count and streak. */
  readonly fieldType: ValueType | null;
  /** The value before any event: 0 for count, sum and streak; null otherwise. */
  readonly initial: number | null;
  /** Dotted form of `field`, for messages. */
  readonly fieldPath: string | null;
}

export interface ApplyPlan {
  /** Hash of the bundle the plan was compiled from. */
  readonly bundleHash: string;
  readonly properties: readonly PropertyPlan[];
  /** Properties by event type, in declaration order. */
  readonly byEvent: ReadonlyMap<string, readonly PropertyPlan[]>;
  /** The script's ARGV[1]: MessagePack of kind, field, bucketMs, buckets per property. */
  readonly propertyBlob: Buffer;
  /** How long an inactive player's state keys live (the bundle policy's `retention`). */
  readonly retentionMs: number;
}

/** Plain MessagePack (no records or extensions): what the script's cmsgpack reads. */
export const packr = new Packr({ useRecords: false, variableMapSize: true, moreTypes: false });

const PLAIN_CODES: Record<PropertyKind, KindCode> = { count: 'c', sum: 's', min: 'n', max: 'x', last: 'l', streak: 'k' };

export function storageField(spec: PropertySpec, window: WindowGeometry | null): string {
  return window ? `w:${spec.name}:${spec.kind}:${window.bucketMs}x${window.buckets}` : `p:${spec.name}:${spec.kind}`;
}

export function compilePropertyPlan(spec: PropertySpec, index: number): PropertyPlan {
  const windowed = spec.windowMs !== null && (spec.kind === 'count' || spec.kind === 'sum');
  if (spec.windowMs !== null && !windowed) {
    throw new RangeError(`property ${spec.name}: a window is only allowed on count and sum`);
  }
  const needsField = spec.kind === 'sum' || spec.kind === 'min' || spec.kind === 'max' || spec.kind === 'last';
  if (needsField && (!spec.field || spec.field.length === 0)) {
    throw new RangeError(`property ${spec.name}: ${spec.kind} needs a field`);
  }
  const window = windowed ? windowGeometry(spec.windowMs as number) : null;
  const code: KindCode = window ? (spec.kind === 'count' ? 'C' : 'S') : PLAIN_CODES[spec.kind];
  return {
    index,
    spec,
    code,
    storageField: storageField(spec, window),
    window,
    fieldType: needsField ? spec.valueType : null,
    initial: spec.kind === 'count' || spec.kind === 'sum' || spec.kind === 'streak' ? 0 : null,
    fieldPath: needsField ? (spec.field as readonly string[]).join('.') : null,
  };
}

export function compilePlan(properties: readonly PropertySpec[], bundleHash = '', retentionMs = DEFAULT_RETENTION_MS): ApplyPlan {
  const plans = properties.map((spec, i) => compilePropertyPlan(spec, i + 1));
  const byEvent = new Map<string, PropertyPlan[]>();
  for (const p of plans) {
    const list = byEvent.get(p.spec.event);
    if (list) list.push(p);
    else byEvent.set(p.spec.event, [p]);
  }
  const flat: (string | number)[] = [];
  for (const p of plans) flat.push(p.code, p.storageField, p.window?.bucketMs ?? 0, p.window?.buckets ?? 0);
  return { bundleHash, properties: plans, byEvent, propertyBlob: Buffer.from(packr.pack(flat)), retentionMs };
}

const cache = new WeakMap<Bundle, ApplyPlan>();

/** The plan of a bundle, compiled on first use and kept as long as the bundle lives. */
export function planFor(bundle: Bundle): ApplyPlan {
  let plan = cache.get(bundle);
  if (!plan) {
    plan = compilePlan(bundle.properties, bundle.hash, bundle.policy.retentionMs);
    cache.set(bundle, plan);
  }
  return plan;
}
