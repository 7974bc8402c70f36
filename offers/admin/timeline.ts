import { offerKeys } from '../../lib/keys.ts';
import { PlayPulseError } from '../../lib/errors.ts';
import type { RedisClient } from '../../lib/redis.ts';
import { RULE_ID_PATTERN } from '../../designer/schemas.ts';
import { hourRange, shapeTimeline, type Timeline } from '../engine/timeline.ts';

const RULE_ID = new RegExp(RULE_ID_PATTERN);

/**
 * `GET /v1/stats/rules/{id}/timeline`: the rule's funnel per hour and variant over the
 * `hours` hours ending with the current one (by this process's clock). One HGETALL per hour,
 * all on the rule's slot, sent together. A rule without traffic answers zero variants.
 */
export async function ruleTimeline(redis: RedisClient, prefix: string, ruleId: string, hours: number, now: number): Promise<Timeline> {
  if (!RULE_ID.test(ruleId)) throw new PlayPulseError('ADMIN_BAD_REQUEST', 'not a rule id', { id: ruleId });
  const keys = offerKeys(prefix);
  const range = hourRange(now, hours);
  const hashes = await Promise.all(range.map((h) => redis.hgetall(keys.statsHour(ruleId, h))));
  return shapeTimeline(ruleId, range, hashes);
}
