import { expect } from 'vitest';
import { compileBundle } from '../../designer/compile.ts';
import { readBundleDir } from '../../designer/load.ts';
import { assignVariant, inHoldout } from '../../offers/engine/hashing.ts';
import { TestClient, type Frame } from '../integration/edge-harness.ts';
import type { RunningPlayPulse } from '../integration/backtest-stack.ts';

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

/**
 * `player` plays online: three ranked losses, so comeback-bundle offers them its bundle over
 * their socket (delivered), and they see it (`offer.shown`).
 */
export async function loseThreeAndSeeTheOffer(pp: RunningPlayPulse, player: string): Promise<void> {
  const client = await TestClient.connect(`${pp.edgeUrl}?token=${encodeURIComponent(await pp.token(player))}`);
  try {
    for (let i = 1; i <= 3; i++) client.send({ t: 'ev', id: `loss-${i}`, type: 'match.end', data: { result: 'loss', duration_s: 420, mode: 'ranked', score: 300 * i } });
    const offer = await client.next((f) => f.t === 'offer');
    expect((offer.offer as Frame).ruleId).toBe('comeback-bundle');
    client.send({ t: 'ev', id: 'shown-1', type: 'offer.shown', data: { offerId: (offer.offer as Frame).id } });
    await client.acked(['shown-1']);
  } finally {
    await client.close();
  }
}
