import type { ConditionCache} from './cel.ts';
import { PLAYER_BUILTINS, compileCondition } from './cel.ts';
import { diagnostic } from './diagnostics.ts';
import { parseDuration } from './duration.ts';
import { PROPERTY_KINDS, type PropertiesFile } from './schemas.ts';
import { didYouMean } from './suggest.ts';
import type { Condition, Diagnostic, EventSpec, PropertyKind, PropertySpec, ValueType } from './types.ts';
import type { YamlFile } from './yaml-doc.ts';
import { conditionDiagnostics } from './condition-diagnostics.ts';

const NUMERIC: readonly ValueType[] = ['int', 'double'];
const SCALAR: readonly ValueType[] = ['int', 'double', 'string', 'bool'];

/** Builds the property list from a schema-valid properties.yaml, in declaration order. */
export function compileProperties(
  yaml: YamlFile | null,
  file: PropertiesFile | null,
  events: ReadonlyMap<string, EventSpec>,
  cache: ConditionCache,
): { properties: PropertySpec[]; diagnostics: Diagnostic[] } {
  const properties: PropertySpec[] = [];
  const diagnostics: Diagnostic[] = [];
  if (!yaml || !file) return { properties, diagnostics };
  for (const [name, entry] of Object.entries(file.properties)) {
    const base = ['properties', name];
    const err = (path: (string | number)[], code: Parameters<typeof diagnostic>[1], message: string, hint?: string) =>
      diagnostics.push(diagnostic('error', code, yaml.file, yaml.at(path), message, hint));
    if (PLAYER_BUILTINS.has(name)) {
      diagnostics.push(diagnostic('error', 'RULE_CONFLICT', yaml.file, yaml.keyAt(base), `\`${name}\` is a built-in player field`, 'choose another name'));
      continue;
    }
    const kinds = PROPERTY_KINDS.filter((k) => entry[k] !== undefined);
    if (kinds.length !== 1) {
      err(base, 'RULE_SCHEMA', kinds.length === 0 ? `property \`${name}\` needs one kind` : `property \`${name}\` has ${kinds.length} kinds (${kinds.join(', ')}); give it one`, `one of ${PROPERTY_KINDS.join(', ')}`);
      continue;
    }
    const kind = kinds[0] as PropertyKind;
    const spec = entry[kind] as { event: string; when?: string; field?: string; window?: string };
    const at = [...base, kind];
    const event = events.get(spec.event);
    if (!event) {
      err([...at, 'event'], 'RULE_REFERENCE', `event \`${spec.event}\` is not declared in events.yaml`, didYouMean(spec.event, events.keys()));
      continue;
    }
    let when: Condition | null = null;
    if (spec.when !== undefined) {
      const compiled = compileCondition(spec.when, { event, player: null }, cache);
      if (!compiled.ok) {
        diagnostics.push(...conditionDiagnostics(yaml, [...at, 'when'], compiled.problems));
        continue;
      }
      when = compiled.condition;
    }
    let field: string[] | null = null;
    let valueType: ValueType = 'int';
    if (spec.field !== undefined) {
      const parts = spec.field.split('.');
      const fieldName = parts[1] ?? '';
      const declared = event.fields.get(fieldName);
      if (parts.length !== 2 || parts[0] !== 'data') {
        err([...at, 'field'], 'RULE_SCHEMA', `\`field\` must name an event data field like \`data.${parts[parts.length - 1] ?? 'coins'}\`, not \`${spec.field}\``);
        continue;
      }
      if (!declared) {
        err(
          [...at, 'field'],
          'RULE_REFERENCE',
          `event \`${spec.event}\` has no field \`${fieldName}\``,
          didYouMean(fieldName, event.fields.keys()) ?? (event.fields.size ? `its fields: ${[...event.fields.keys()].join(', ')}` : 'declare it in events.yaml'),
        );
        continue;
      }
      const allowed = kind === 'last' ? SCALAR : NUMERIC;
      if (!allowed.includes(declared.type)) {
        err(
          [...at, 'field'],
          'RULE_TYPE_ERROR',
          `\`${kind}\` needs a ${kind === 'last' ? 'scalar (int, double, string or bool)' : 'numeric (int or double)'} field; \`data.${fieldName}\` of \`${spec.event}\` is ${declared.type}`,
          kind === 'last' ? undefined : 'use `count` to count events, or `last` to keep the latest value',
        );
        continue;
      }
      field = parts;
      valueType = declared.type;
    }
    let windowMs: number | null = null;
    if (spec.window !== undefined) {
      windowMs = parseDuration(spec.window);
      if (!windowMs) {
        err([...at, 'window'], 'RULE_SCHEMA', '`window` must be longer than 0', 'e.g. 10m or 7d');
        continue;
      }
    }
    properties.push({ name, kind, event: spec.event, when, field, windowMs, valueType: kind === 'count' || kind === 'streak' ? 'int' : valueType });
  }
  return { properties, diagnostics };
}
