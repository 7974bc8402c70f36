import { parse } from '@marcbachmann/cel-js';
import { conjuncts } from './cel-ast.ts';
import { diagnostic } from './diagnostics.ts';
import { didYouMean } from './suggest.ts';
import type { Diagnostic, Rule } from './types.ts';
import type { YamlFile } from './yaml-doc.ts';

/**
 * Checks across rules: duplicate ids, follow-ups naming unknown rules (or looping), and
 * rules shadowed by a higher-priority rule with the same trigger and a weaker condition.
 * `yamlOf` gives the parsed file of a rule, for positions.
 */
export function crossRuleChecks(rules: readonly Rule[], yamlOf: (file: string) => YamlFile): Diagnostic[] {
  const out: Diagnostic[] = [];
  const byId = new Map<string, Rule>();
  for (const rule of rules) {
    const first = byId.get(rule.id);
    if (first) {
      out.push(diagnostic('error', 'RULE_CONFLICT', rule.file, yamlOf(rule.file).at(['id']), `duplicate rule id \`${rule.id}\`; ${first.file} uses it too`, 'give every rule its own id'));
    } else {
      byId.set(rule.id, rule);
    }
  }
  for (const rule of byId.values()) out.push(...followUpChecks(rule, byId, yamlOf));
  out.push(...shadowChecks([...byId.values()], yamlOf));
  return out;
}

function followUpChecks(rule: Rule, byId: ReadonlyMap<string, Rule>, yamlOf: (file: string) => YamlFile): Diagnostic[] {
  if (!rule.followUp) return [];
  const yaml = yamlOf(rule.file);
  const at = yaml.at(['followUp', 'rule']);
  const target = byId.get(rule.followUp.rule);
  if (!target) {
    return [diagnostic('error', 'RULE_REFERENCE', rule.file, at, `followUp names rule \`${rule.followUp.rule}\`, which does not exist`, didYouMean(rule.followUp.rule, byId.keys()))];
  }
  if (target.trigger.event !== rule.trigger.event) {
    return [
      diagnostic(
        'error',
        'RULE_CONFLICT',
        rule.file,
        at,
        `followUp rule \`${target.id}\` triggers on \`${target.trigger.event}\`, but this rule on \`${rule.trigger.event}\`; a follow-up is evaluated on the first offer's triggering event`,
        `give \`${target.id}\` the trigger event \`${rule.trigger.event}\``,
      ),
    ];
  }
  const seen = new Set<string>([rule.id]);
  let cur: Rule | undefined = target;
  while (cur) {
    if (seen.has(cur.id)) {
      return [diagnostic('error', 'RULE_CONFLICT', rule.file, at, `followUp chain loops back to \`${cur.id}\``, 'a chain of follow-ups must end')];
    }
    seen.add(cur.id);
    cur = cur.followUp ? byId.get(cur.followUp.rule) : undefined;
  }
  return [];
}

function shadowChecks(rules: readonly Rule[], yamlOf: (file: string) => YamlFile): Diagnostic[] {
  const out: Diagnostic[] = [];
  const competing = rules.filter((r) => r.enabled && r.mode === 'live' && !r.followUpOnly);
  const conj = new Map<Rule, Set<string> | null>();
  for (const r of competing) conj.set(r, r.trigger.when ? new Set(conjuncts(parse(r.trigger.when.source).ast)) : null);
  for (const low of competing) {
    for (const high of competing) {
      if (high === low || high.trigger.event !== low.trigger.event || high.priority <= low.priority) continue;
      const h = conj.get(high) ?? null;
      const l = conj.get(low) ?? null;
      const weaker = h === null || (l !== null && [...h].every((c) => l.has(c)));
      if (!weaker) continue;
      const yaml = yamlOf(low.file);
      out.push(
        diagnostic(
          'warning',
          'RULE_CONFLICT',
          low.file,
          yaml.at(yaml.text.match(/^priority:/m) ? ['priority'] : ['trigger', 'event']),
          `rule \`${low.id}\` is shadowed by \`${high.id}\` (${high.file}, priority ${high.priority}): same trigger \`${low.trigger.event}\` and ${h === null ? 'no condition' : 'a condition that holds whenever this one does'}, so \`${low.id}\` can only win when \`${high.id}\` is blocked by its limits or experiment`,
          `raise this rule's priority above ${high.priority} or narrow \`${high.id}\`'s condition`,
        ),
      );
      break;
    }
  }
  return out;
}
