/**
 * Offers shaped per player through the real decision path (decideBatch on real Redis): a price,
 * a quantity and a title computed from each player's state inside their bounds; a value outside
 * the bounds clamped; a runtime error falling back to the declared default; and every value,
 * with the inputs it was computed from, in the player's decision trail and the offer stored.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { playerKeys } from '../../lib/keys.ts';
import type { Bundle } from '../../designer/types.ts';
import { decodeDecisionList } from '../../offers/engine/explain-codec.ts';
import { shapedLine, type DecisionRecord } from '../../offers/engine/explain.ts';
import { decodeLedger } from '../../offers/engine/offer.ts';
import { toWireOffer } from '../../protocol/server-frames.ts';
import type { Offer } from '../../protocol/offer.ts';
import { noonDaysAgo } from '../helpers/time.ts';
import { decideFollowUp } from '../../offers/jobs/follow-up.ts';
import { readPlayerState } from '../../processors/state.ts';
import { applied, baseFiles, bundleOf, comebackYaml, DeciderRigs, EVENTS_YAML, loss, policyYaml, PROPERTIES_YAML, type DeciderRig as Rig } from './offers-fixtures.ts';

const SHAPED_YAML = `id: shaped-comeback
priority: 100
trigger:
  event: match.end
  when: 'event.data.result == "loss" && player.loss_streak >= 3'
offer:
  sku: bundle.comeback
  title: { template: 'Comeback pack after {{ player.loss_streak }} losses', default: Comeback pack }
  price:
    amount: { expr: 'double(player.spent / player.purchases) * 1.2', min: 99, max: 1999, round: 50, default: 499 }
    currency: USD
  quantity: { expr: '100 / player.purchases', min: 1, max: 5, default: 1 }
  ttl: 15m
`;

/** Evaluated beside it, never delivered: its explanation carries the price it would have offered. */
const SHADOW_YAML = `id: shaped-shadow
mode: shadow
priority: 10
trigger:
  event: match.end
  when: 'event.data.result == "loss"'
offer:
  sku: bundle.trial
  price: { amount: { expr: 'player.loss_streak * 100', min: 100, max: 250, default: 150 }, currency: USD }
  ttl: 15m
`;

const bundle: Bundle = bundleOf({
  'events.yaml': EVENTS_YAML,
  'properties.yaml': `${PROPERTIES_YAML}  spent: { sum: { event: shop.purchase, field: data.amount } }\n`,
  'policy.yaml': policyYaml(),
  'shaped-comeback.yaml': SHAPED_YAML,
  'shaped-shadow.yaml': SHADOW_YAML,
});

const rigs = new DeciderRigs('test-shaped');
afterAll(() => rigs.closeAll());
const rig = (): Rig => rigs.open(bundle);

const latest = async (r: Rig, player: string): Promise<DecisionRecord | undefined> => decodeDecisionList(await r.redis.getBuffer(playerKeys(r.config.keyPrefix, player).decisions))[0];

/** The player's pending offers as the inbox keeps them, in wire form. */
async function offersOf(r: Rig, player: string): Promise<Offer[]> {
  const bodies = await r.redis.hvals(playerKeys(r.config.keyPrefix, player).offers);
  return bodies.map((b) => toWireOffer(JSON.parse(b))).filter((o): o is Offer => o !== null);
}

const lossOf = (player: string, at: number, props: { loss_streak: number; purchases: number; spent: number }) => applied(player, 'match.end', { result: 'loss' }, at, props);

describe('offers shaped per player (real Redis)', () => {
  const T0 = noonDaysAgo(1);

  it('computes, clamps and falls back per player, and explains each value with its inputs', async () => {
    const r = rig();
    await r.decider.decideBatch([
      lossOf('avery', T0, { loss_streak: 3, purchases: 5, spent: 5000 }),
      lossOf('blake', T0 + 1, { loss_streak: 4, purchases: 50, spent: 500_000 }),
      lossOf('casey', T0 + 2, { loss_streak: 5, purchases: 0, spent: 0 }),
    ]);

    const [avery] = await offersOf(r, 'avery');
    expect(avery).toMatchObject({ ruleId: 'shaped-comeback', title: 'Comeback pack after 3 losses', price: { amount: 1200, currency: 'USD' }, quantity: 5 });
    const [blake] = await offersOf(r, 'blake');
    expect(blake).toMatchObject({ title: 'Comeback pack after 4 losses', price: { amount: 1999, currency: 'USD' }, quantity: 2 });
    const [casey] = await offersOf(r, 'casey');
    expect(casey).toMatchObject({ title: 'Comeback pack after 5 losses', price: { amount: 499, currency: 'USD' }, quantity: 1 });

    // The ledger (revenue, lift) keeps the price the player was offered.
    const ledger = decodeLedger(await r.redis.getBuffer(playerKeys(r.config.keyPrefix, 'blake').ledger));
    expect([...ledger.values()].map((x) => x.price)).toEqual([{ amount: 1999, currency: 'USD' }]);

    const a = (await latest(r, 'avery'))?.rules.find((x) => x.ruleId === 'shaped-comeback');
    expect(a).toMatchObject({ outcome: 'offered' });
    expect(a?.shaped).toEqual([
      { field: 'title', outcome: 'computed', value: 'Comeback pack after 3 losses', computed: 'Comeback pack after 3 losses', inputs: { 'player.loss_streak': 3 } },
      { field: 'price.amount', outcome: 'computed', value: 1200, computed: 1200, inputs: { 'player.spent': 5000, 'player.purchases': 5 } },
      { field: 'quantity', outcome: 'clamped', value: 5, computed: 20, inputs: { 'player.purchases': 5 } },
    ]);

    const b = (await latest(r, 'blake'))?.rules.find((x) => x.ruleId === 'shaped-comeback');
    const price = b?.shaped?.find((s) => s.field === 'price.amount');
    expect(price).toEqual({ field: 'price.amount', outcome: 'clamped', value: 1999, computed: 12_000, inputs: { 'player.spent': 500_000, 'player.purchases': 50 } });
    expect(price && shapedLine(price)).toBe('price.amount 1999: clamped from 12000 to 1999');

    const c = (await latest(r, 'casey'))?.rules.find((x) => x.ruleId === 'shaped-comeback');
    const fallback = c?.shaped?.filter((s) => s.outcome === 'fallback') ?? [];
    expect(fallback.map((s) => [s.field, s.value, s.inputs])).toEqual([
      ['price.amount', 499, { 'player.spent': 0, 'player.purchases': 0 }],
      ['quantity', 1, { 'player.purchases': 0 }],
    ]);
    for (const s of fallback) expect(s.error).toMatch(/division by zero/i);
  });

  it("records the values a shadow rule's offer would have had, and none for rules that made no offer", async () => {
    const r = rig();
    await r.decider.decideBatch([lossOf('drew', T0, { loss_streak: 2, purchases: 1, spent: 100 })]);
    expect(await offersOf(r, 'drew')).toEqual([]);
    const d = await latest(r, 'drew');
    const live = d?.rules.find((x) => x.ruleId === 'shaped-comeback');
    expect(live).toMatchObject({ outcome: 'condition_false' });
    expect(live?.shaped).toBeUndefined();
    expect(d?.rules.find((x) => x.ruleId === 'shaped-shadow')).toMatchObject({
      outcome: 'shadow',
      shaped: [{ field: 'price.amount', outcome: 'computed', value: 200, computed: 200, inputs: { 'player.loss_streak': 2 } }],
    });
  });

  it('prices a follow-up, decided one event at a time (decide.ts), from the player state it reads', async () => {
    const reminder = `id: comeback-reminder
priority: 90
trigger:
  event: match.end
  followUpOnly: true
offer:
  sku: bundle.comeback.mini
  price: { amount: { expr: 'player.offers_today * 100 + 49', min: 49, max: 499, default: 99 }, currency: USD }
  ttl: 10m
`;
    const followed = bundleOf(baseFiles({ 'comeback.yaml': comebackYaml({ followUp: '1h' }), 'reminder.yaml': reminder }));
    const jobs: Parameters<typeof decideFollowUp>[3][] = [];
    const r = rigs.open(followed, { followUps: (j) => jobs.push(j) });
    const { config, redis, decider } = r;
    await decider.decideBatch([loss('emery', T0)]);
    const [job] = jobs;
    expect(job).toBeDefined();
    if (!job) return;
    const outcome = await decideFollowUp(decider.context, followed, (id, b, now) => readPlayerState(redis, config.keyPrefix, id, b, now), job);
    expect(outcome.result).toBe('offered');
    const rule = (await latest(r, 'emery'))?.rules.find((x) => x.ruleId === 'comeback-reminder');
    // The first offer of the day counts: offers_today is 1 when the reminder is decided.
    expect(rule?.shaped).toEqual([{ field: 'price.amount', outcome: 'computed', value: 149, computed: 149, inputs: { 'player.offers_today': 1 } }]);
    const prices = (await offersOf(r, 'emery')).map((o) => [o.ruleId, o.price.amount]).sort();
    expect(prices).toEqual([
      ['comeback', 199],
      ['comeback-reminder', 149],
    ]);
  });
});
