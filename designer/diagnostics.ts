import type { Diagnostic } from './types.ts';

/**
 * Diagnostic codes are the RULE_* codes of lib/errors.ts: RULE_YAML (not YAML, or over a
 * size/alias limit), RULE_SCHEMA (a file does not match its schema), RULE_TYPE_ERROR (a CEL
 * condition or offer expression does not type-check), RULE_REFERENCE (names something undeclared),
 * RULE_CONFLICT (files contradict each other). Warnings use the same codes.
 */
export type DiagnosticCode = 'RULE_YAML' | 'RULE_SCHEMA' | 'RULE_TYPE_ERROR' | 'RULE_REFERENCE' | 'RULE_CONFLICT';

export interface Position {
  readonly line: number;
  readonly column: number;
}

export function diagnostic(
  severity: Diagnostic['severity'],
  code: DiagnosticCode,
  file: string,
  pos: Position,
  message: string,
  hint?: string,
): Diagnostic {
  const d: Diagnostic = { severity, code, file, line: pos.line, column: pos.column, message };
  return hint === undefined ? d : { ...d, hint };
}

/** `file:line:col: error CODE message (hint)`, the format of `rules validate`. */
export function formatDiagnostic(d: Diagnostic): string {
  const hint = d.hint ? ` (${d.hint})` : '';
  return `${d.file}:${d.line}:${d.column}: ${d.severity} ${d.code} ${d.message}${hint}`;
}

/** Errors first, then by file, line, column. */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) =>
      (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1) ||
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      a.column - b.column,
  );
}

export function hasErrors(list: readonly Diagnostic[]): boolean {
  return list.some((d) => d.severity === 'error');
}
