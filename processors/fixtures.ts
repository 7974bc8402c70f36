import type { Condition, ConditionInput, PropertyKind, PropertySpec, ValueType } from '../offers/designer/types.ts';
import { errorMessage } from '../lib/errors.ts';

/**
 * Hand-built property specs for unit tests of the pure apply code, where compiling YAML
 * would test the designer compiler rather than processors. A condition here is a plain JS
 * predicate over the event, with the same contract as a compiled CEL condition.
 */
export function condition(source: string, predicate: (event: ConditionInput['event']) => boolean): Condition {
  return {
    source,
    reads: [],
    evaluate: (input) => {
      try {
        return { value: predicate(input.event) };
      } catch (err) {
        return { value: false, error: errorMessage(err) };
      }
    },
  };
}

export function propertySpec(
  name: string,
  kind: PropertyKind,
  event: string,
  opts: { when?: Condition; field?: string; windowMs?: number; valueType?: ValueType } = {},
): PropertySpec {
  return {
    name,
    kind,
    event,
    when: opts.when ?? null,
    field: opts.field ? opts.field.split('.') : null,
    windowMs: opts.windowMs ?? null,
    valueType: opts.valueType ?? 'int',
  };
}
