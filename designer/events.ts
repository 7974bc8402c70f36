import { diagnostic } from './diagnostics.ts';
import { RESPONSE_EVENTS, type EventsFile } from './schemas.ts';
import type { Diagnostic, EventSpec, FieldSpec, ValueType } from './types.ts';
import type { YamlFile } from './yaml-doc.ts';

/** CEL reserved words: a field with such a name could not be read in a condition. */
const CEL_RESERVED = new Set(
  'true false null in as break const continue else for function if import let loop package namespace return var void while'.split(' '),
);

/**
 * The built-in response events. `offer.purchased` may carry `amount` (int, minor units) and
 * `currency` (ISO 4217) so revenue can be counted.
 */
export function builtinEvents(): Map<string, EventSpec> {
  const offerId: FieldSpec = { name: 'offerId', type: 'string', enum: null, required: true };
  const out = new Map<string, EventSpec>();
  for (const type of RESPONSE_EVENTS) {
    const fields = new Map<string, FieldSpec>([['offerId', offerId]]);
    if (type === 'offer.purchased') {
      fields.set('amount', { name: 'amount', type: 'int', enum: null, required: false });
      fields.set('currency', { name: 'currency', type: 'string', enum: null, required: false });
    }
    out.set(type, { type, builtin: true, fields });
  }
  return out;
}

/** Builds the taxonomy from a schema-valid events.yaml (or none): built-ins first. */
export function compileEvents(yaml: YamlFile | null, file: EventsFile | null): { events: Map<string, EventSpec>; diagnostics: Diagnostic[] } {
  const events = builtinEvents();
  const diagnostics: Diagnostic[] = [];
  if (!yaml || !file) return { events, diagnostics };
  for (const [type, spec] of Object.entries(file.events)) {
    if (events.has(type)) {
      diagnostics.push(
        diagnostic('error', 'RULE_CONFLICT', yaml.file, yaml.keyAt(['events', type]), `\`${type}\` is built in and cannot be redeclared`, 'remove it from events.yaml'),
      );
      continue;
    }
    const fields = new Map<string, FieldSpec>();
    for (const [name, raw] of Object.entries(spec?.data ?? {})) {
      const path = ['events', type, 'data', name];
      if (CEL_RESERVED.has(name)) {
        diagnostics.push(diagnostic('error', 'RULE_SCHEMA', yaml.file, yaml.keyAt(path), `field name \`${name}\` is a CEL reserved word`, 'rename the field'));
        continue;
      }
      const long = typeof raw === 'string' ? { type: raw } : raw;
      if (long.enum && long.type && long.type !== 'string') {
        diagnostics.push(
          diagnostic('error', 'RULE_SCHEMA', yaml.file, yaml.at([...path, 'type']), `field \`${name}\` has an enum, so its type is string, not ${long.type}`, 'drop `type` or the enum'),
        );
        continue;
      }
      if (!long.enum && !long.type) {
        diagnostics.push(diagnostic('error', 'RULE_SCHEMA', yaml.file, yaml.keyAt(path), `field \`${name}\` needs a \`type\` or an \`enum\``, 'e.g. `coins: int`'));
        continue;
      }
      const valueType: ValueType = long.enum ? 'string' : long.type === 'number' ? 'double' : (long.type as ValueType);
      fields.set(name, { name, type: valueType, enum: long.enum ? [...new Set(long.enum)] : null, required: long.required ?? false });
    }
    events.set(type, { type, builtin: false, fields });
  }
  return { events, diagnostics };
}
