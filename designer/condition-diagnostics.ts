import type { ConditionProblem } from './cel.ts';
import { diagnostic } from './diagnostics.ts';
import type { Diagnostic } from './types.ts';
import type { PathSegment, YamlFile } from './yaml-doc.ts';

/** Places condition problems at their column inside the YAML scalar that holds the expression. */
export function conditionDiagnostics(yaml: YamlFile, path: readonly PathSegment[], problems: readonly ConditionProblem[]): Diagnostic[] {
  return problems.map((p) => diagnostic('error', p.code, yaml.file, yaml.charAt(path, p.offset), p.message, p.hint));
}
