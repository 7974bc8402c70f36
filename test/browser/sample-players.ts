import { compileBundle } from '../../designer/compile.ts';
import { readBundleDir } from '../../designer/load.ts';
import { assignVariant, inHoldout } from '../../offers/engine/hashing.ts';

/**
 * The first player id `<prefix>-<n>` that the sample game (offers/rules) makes offers to:
 * outside the global holdout and, when `ruleId` is given, not in a control arm of that rule.
 */
export function offerablePlayer(prefix: string, ruleId?: string): string {
  const compiled = compileBundle(readBundleDir('offers/rules'));
  if (!compiled.ok) throw new Error('the sample rules do not compile'); // programmer error: test helper
  const rule = ruleId === undefined ? null : compiled.bundle.rules.find((r) => r.id === ruleId);
  if (rule === undefined) throw new Error(`the sample rules lost ${ruleId ?? ''}`); // programmer error: test helper
  for (let i = 0; ; i++) {
    const id = `${prefix}-${i}`;
    if (!inHoldout(id, compiled.bundle.policy.holdoutPercent) && !(rule && assignVariant(id, rule)?.holdout)) return id;
  }
}
