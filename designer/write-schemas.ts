import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FILE_KINDS, jsonSchemaText, type FileKind } from './schemas.ts';

/** Writes offers/schemas/<kind>.schema.json for every file kind; returns the paths written. */
export function writeJsonSchemas(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return (Object.keys(FILE_KINDS) as FileKind[]).map((kind) => {
    const path = join(dir, `${kind}.schema.json`);
    writeFileSync(path, jsonSchemaText(kind));
    return path;
  });
}
