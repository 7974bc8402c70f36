/**
 * The bench's rules folder, derived at run time from the sample folder (offers/rules) so it
 * follows the sample taxonomy and properties: every file is copied, then
 *   - policy.yaml: no global holdout, a daily cap high enough for a bench run;
 *   - the comeback rule: no control arm, no daily budget, no cooldown or lifetime cap.
 * So every fresh player that plays the comeback sequence should get its offer, and the
 * event → offer figure measures the pipeline, not the sampling. Other sample rules stay as
 * they are and fire on background traffic as they would in a live game.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { SAMPLE_RULES } from '../scenarios/index.ts';

export function writeBenchRules(sampleDir: string, outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  for (const file of readdirSync(sampleDir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))) {
    copyFileSync(join(sampleDir, file), join(outDir, file));
  }
  const policyFile = join(outDir, 'policy.yaml');
  const policy = parseDocument(readFileSync(policyFile, 'utf8'));
  policy.setIn(['holdout', 'percent'], 0);
  policy.setIn(['fatigue', 'maxOffersPerDay'], 1000);
  writeFileSync(policyFile, policy.toString());

  const ruleFile = readdirSync(outDir).find((f) => {
    const doc = parseDocument(readFileSync(join(outDir, f), 'utf8'));
    return doc.get('id') === SAMPLE_RULES.comebackRuleId;
  });
  // programmer error: the sample rules ship with this rule
  if (!ruleFile) throw new Error(`no rule ${SAMPLE_RULES.comebackRuleId} in ${sampleDir}`);
  const rule = parseDocument(readFileSync(join(outDir, ruleFile), 'utf8'));
  rule.delete('experiment');
  rule.deleteIn(['limits', 'budget']);
  rule.deleteIn(['limits', 'cooldown']);
  rule.deleteIn(['limits', 'maxPerPlayer']);
  writeFileSync(join(outDir, ruleFile), rule.toString());
  return outDir;
}
