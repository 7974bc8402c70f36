import { LineCounter, parseDocument, isMap, isSeq, isScalar, isPair, isNode, type Document, type Node as YamlNode, type Scalar } from 'yaml';
import { diagnostic, type Position } from './diagnostics.ts';
import type { Diagnostic } from './types.ts';
import { errorMessage } from '../lib/errors.ts';

/** Limits on one designer file: its size and how many aliases it may expand. */
export const MAX_FILE_BYTES = 256 * 1024;
export const MAX_ALIAS_COUNT = 100;
/** Flow collections (`[…]`, `{…}`) nested deeper than this are refused before parsing. */
export const MAX_FLOW_DEPTH = 64;

export type PathSegment = string | number;

/**
 * One parsed designer file with positions. Valid while the compile that made it runs;
 * positions are 1-based line and column.
 */
export interface YamlFile {
  readonly file: string;
  readonly text: string;
  /** Plain JS value of the document; undefined when it failed to parse. */
  readonly value: unknown;
  /** Position of the node at `path`, or of its nearest existing ancestor. */
  at(path: readonly PathSegment[]): Position;
  /** Position of the key of the entry at `path` (falls back to the node). */
  keyAt(path: readonly PathSegment[]): Position;
  /**
   * Position of character `index` of the string value of the scalar at `path` (for CEL
   * columns). Exact for plain, quoted and block scalars; falls back to the scalar start.
   */
  charAt(path: readonly PathSegment[], index: number): Position;
}

const START: Position = { line: 1, column: 1 };

/** Parses `text`; never throws. Syntax errors and limits come back as diagnostics. */
export function parseYamlFile(file: string, text: string): { yaml: YamlFile; diagnostics: Diagnostic[] } {
  const lc = new LineCounter();
  const pos = (offset: number): Position => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const diagnostics: Diagnostic[] = [];
  let doc: Document.Parsed | null = null;
  let value: unknown = undefined;
  if (Buffer.byteLength(text, 'utf8') > MAX_FILE_BYTES) {
    diagnostics.push(
      diagnostic('error', 'RULE_YAML', file, START, `file is over the ${MAX_FILE_BYTES / 1024} KiB limit`, 'split it or remove unused entries'),
    );
  } else if (deepFlowAt(text, MAX_FLOW_DEPTH) !== null) {
    const at = deepFlowAt(text, MAX_FLOW_DEPTH) ?? 0;
    const before = text.slice(0, at).split('\n');
    diagnostics.push(
      diagnostic('error', 'RULE_YAML', file, { line: before.length, column: (before[before.length - 1]?.length ?? 0) + 1 }, `brackets nest more than ${MAX_FLOW_DEPTH} levels deep`, 'flatten the structure'),
    );
  } else {
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, strict: true, merge: true });
    for (const err of doc.errors) {
      diagnostics.push(diagnostic('error', 'RULE_YAML', file, pos(err.pos[0]), yamlMessage(err.message), yamlHint(err.code)));
    }
    for (const warn of doc.warnings) {
      diagnostics.push(diagnostic('warning', 'RULE_YAML', file, pos(warn.pos[0]), yamlMessage(warn.message)));
    }
    if (doc.errors.length === 0) {
      try {
        value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
      } catch (err) {
        diagnostics.push(
          diagnostic(
            'error',
            'RULE_YAML',
            file,
            START,
            `the document expands too many aliases (${errorMessage(err)})`,
            'use anchors and aliases sparingly; each file may expand at most 100',
          ),
        );
      }
    }
  }
  const parsed = doc;

  const nodeAt = (path: readonly PathSegment[]): { node: YamlNode | null; key: YamlNode | null } => {
    let node: unknown = parsed?.contents ?? null;
    let key: YamlNode | null = null;
    let found: { node: YamlNode | null; key: YamlNode | null } = { node: isNode(node) ? node : null, key: null };
    for (const seg of path) {
      let next: unknown = undefined;
      key = null;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (pair) {
          next = pair.value;
          key = isNode(pair.key) ? pair.key : null;
        }
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg];
      }
      if (!isNode(next) && key === null) break;
      found = { node: isNode(next) ? next : key, key };
      node = next;
    }
    return found;
  };
  const nodePos = (n: YamlNode | null): Position => (n?.range ? pos(n.range[0]) : START);

  const yaml: YamlFile = {
    file,
    text,
    value,
    at: (path) => nodePos(nodeAt(path).node),
    keyAt: (path) => {
      const f = nodeAt(path);
      return nodePos(f.key ?? f.node);
    },
    charAt: (path, index) => {
      const n = nodeAt(path).node;
      if (!n || !isScalar(n) || !n.range) return nodePos(n);
      const offset = scalarCharOffset(text, n, index);
      return pos(offset ?? n.range[0]);
    },
  };
  return { yaml, diagnostics };
}

/** Source offset of character `index` of a scalar's value, or null when it cannot be mapped. */
function scalarCharOffset(text: string, node: Scalar, index: number): number | null {
  const [start, end] = node.range as [number, number, number];
  const src = text.slice(start, end);
  const map: number[] = [];
  switch (node.type) {
    case 'PLAIN':
      if (src.includes('\n')) return null;
      for (let i = 0; i < src.length; i++) map.push(start + i);
      break;
    case 'QUOTE_SINGLE':
      if (src.includes('\n')) return null;
      for (let i = 1; i < src.length - 1; i++) {
        map.push(start + i);
        if (src[i] === "'" && src[i + 1] === "'") i++;
      }
      break;
    case 'QUOTE_DOUBLE':
      if (src.includes('\n')) return null;
      for (let i = 1; i < src.length - 1; i++) {
        map.push(start + i);
        if (src[i] === '\\') i += escapeLength(src, i) - 1;
      }
      break;
    case 'BLOCK_LITERAL':
    case 'BLOCK_FOLDED': {
      const lines = src.split('\n');
      let offset = start + (lines[0]?.length ?? 0) + 1;
      const body = lines.slice(1);
      const indent = Math.min(...body.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
      for (const line of body) {
        for (let i = indent; i < line.length; i++) map.push(offset + i);
        map.push(offset + line.length);
        offset += line.length + 1;
      }
      break;
    }
    default:
      return null;
  }
  return map[Math.min(index, map.length - 1)] ?? null;
}

/** Offset where `[`/`{` nesting outside quotes and comments first exceeds `max`, or null. */
function deepFlowAt(text: string, max: number): number | null {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) {
      const nl = text.indexOf('\n', i);
      if (nl < 0) break;
      i = nl;
    } else if ((c === '"' || c === "'") && (depth > 0 || i === 0 || /[\s:,[{-]/.test(text[i - 1] ?? ''))) {
      quote = c;
    } else if (c === '[' || c === '{') {
      if (++depth > max) return i;
    } else if ((c === ']' || c === '}') && depth > 0) {
      depth--;
    }
  }
  return null;
}

function escapeLength(src: string, i: number): number {
  const c = src[i + 1];
  if (c === 'x') return 4;
  if (c === 'u') return 6;
  if (c === 'U') return 10;
  return 2;
}

function yamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return `YAML: ${first.replace(/ at line \d+, column \d+:?$/, '')}`;
}

function yamlHint(code: string): string | undefined {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each key may appear once per map';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check the indentation and that quotes and brackets are closed';
    case 'MULTIPLE_DOCS':
      return 'each designer file holds one YAML document';
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    default:
      return undefined;
  }
}
