/**
 * Spend attribution, the measure behind lift against the global holdout (docs/offers.md,
 * "Lift"). When a live rule's condition holds for a player, the player enters the rule's
 * attribution window (policy `revenue.window`) in one group: the variant they are assigned
 * to, or `(holdout)` when they are in the global holdout. Whatever the player spends while
 * the window is open — the declared revenue event, and offer purchases — counts towards
 * that rule and group. Both groups are measured the same way, whether or not an offer was
 * made (intention to treat), so spend per exposed player compares like with like.
 *
 * Counters: `<group>|exposed` (a window opened), `<group>|spend|<currency>` and
 * `<group>|spendsq|<currency>`, the sum over windows of the square of each window's spend
 * (spend-2.lua keeps each open window's spend and returns how much its square grew), from
 * which the stats derive a confidence interval for lift. Each spend event counts once
 * (spend-2.lua keeps its id); a window opens once per decided event, in the script call that
 * records the decision (decidePlayers-n.lua). The
 * `(holdout)` group has only these two: its players' triggers stay in their variant's
 * `triggered`, blocked as `holdout`, as the backtest reports them.
 */
import type { EventRecord } from '../../protocol/record.ts';
import type { Policy, RevenueSpec } from '../../designer/types.ts';
import type { EngineContext } from './context.ts';
import type { Considered } from './evaluate.ts';
import { offerMetrics } from './metrics.ts';
import { variantLabel } from './offer.ts';
import { incrStats, runSpend, type EventPosition, type Money } from './redis-ops.ts';

/** The stats group of players in the global holdout. */
export const HOLDOUT_GROUP = '(holdout)';

const CURRENCY = /^[A-Z]{3}$/;

/** The stats group of a rule considered for a player: its variant, or the holdout. */
export function groupOf(c: Considered): string {
  return c.pre === 'holdout' ? HOLDOUT_GROUP : variantLabel(c.variant?.name);
}

/** The live rules whose condition held, with the group each player-window belongs to. */
export function exposures(considered: readonly Considered[]): { ruleId: string; group: string }[] {
  return considered.filter((c) => c.matched && c.rule.mode === 'live').map((c) => ({ ruleId: c.rule.id, group: groupOf(c) }));
}

/**
 * The spend a revenue event reports, or null when its amount is missing or not a
 * non-negative safe integer, or its currency is not an ISO 4217-shaped code.
 */
export function spendOf(record: Pick<EventRecord, 'data'>, revenue: RevenueSpec): Money | null {
  const amount = record.data?.[revenue.amountField];
  const currency = 'code' in revenue.currency ? revenue.currency.code : record.data?.[revenue.currency.field];
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) return null;
  if (typeof currency !== 'string' || !CURRENCY.test(currency)) return null;
  return { amount, currency };
}

/**
 * Counts one spend event towards every rule window open at its time: a revenue event once
 * per Kafka position (`position`), an offer purchase (`position` null) once by its response.
 */
export async function attributeSpend(ctx: EngineContext, playerId: string, position: EventPosition | null, at: number, money: Money): Promise<void> {
  const windows = await runSpend(ctx.redis, ctx.keyPrefix, playerId, position, at, money);
  if (windows === null) {
    offerMetrics.spend.inc({ result: 'duplicate' });
    return;
  }
  offerMetrics.spend.inc({ result: windows.length > 0 ? 'attributed' : 'outside_windows' });
  await Promise.all(windows.map((w) => incrStats(ctx.redis, ctx.keyPrefix, w.ruleId, w.group, {}, undefined, { ...money, squareDelta: w.squareDelta })));
}

/** The declared revenue event of a record, attributed; other records are left alone. */
export async function attributeRevenueEvent(ctx: EngineContext, policy: Policy, record: EventRecord, position: EventPosition): Promise<void> {
  const revenue = policy.revenue;
  if (!revenue || record.type !== revenue.event) return;
  const money = spendOf(record, revenue);
  if (!money) {
    offerMetrics.spend.inc({ result: 'unusable' });
    ctx.log.debug({ player: record.player, event: record.id }, 'revenue event without a usable amount or currency; not attributed');
    return;
  }
  await attributeSpend(ctx, record.player, position, record.recvAt, money);
}
