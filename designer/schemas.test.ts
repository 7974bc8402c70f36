import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FILE_KINDS, jsonSchemaText, jsonSchemas, type FileKind } from './schemas.ts';
import { sampleFiles } from './testing/sample.ts';

const SCHEMAS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'offers', 'schemas');
const kinds = Object.keys(FILE_KINDS) as FileKind[];

describe('JSON Schemas of the designer files', () => {
  it.each(kinds)('offers/schemas/%s.schema.json equals what the compiler uses (regenerate: npm run rules -- schemas)', (kind) => {
    expect(readFileSync(join(SCHEMAS_DIR, `${kind}.schema.json`), 'utf8')).toBe(jsonSchemaText(kind));
  });

  it('are draft-07 and close every map to unknown keys', () => {
    for (const schema of Object.values(jsonSchemas())) {
      expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
      expect(schema.additionalProperties).toBe(false);
    }
  });

  it('ask for exactly one kind per property and describe followUp', () => {
    const props = jsonSchemas().properties as { properties: { properties: { additionalProperties: { oneOf: unknown[] } } } };
    expect(props.properties.properties.additionalProperties.oneOf).toHaveLength(6);
    const rule = jsonSchemas().rule as { properties: Record<string, { description?: string; properties?: Record<string, unknown> }> };
    expect(Object.keys(rule.properties.followUp?.properties ?? {})).toEqual(['after', 'unless', 'rule']);
  });

  it('each sample file names its schema in a modeline', () => {
    for (const [name, text] of Object.entries(sampleFiles())) {
      const kind = ['events', 'properties', 'segments', 'policy'].includes(name.replace('.yaml', '')) ? name.replace('.yaml', '') : 'rule';
      expect(text.split('\n')[0], name).toBe(`# yaml-language-server: $schema=../schemas/${kind}.schema.json`);
    }
  });
});
