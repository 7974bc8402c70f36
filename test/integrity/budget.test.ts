/**
 * Fault: concurrent triggers for one budgeted rule (`level-budget`, 25 a day) from many
 * players at once, decided by two processors in parallel, then the same events replayed.
 * The budget is never exceeded: exactly 25 offers, the same 25 after the replay.
 */
import { describe, expect, it } from 'vitest';
import { offerKeys } from '../../lib/keys.ts';
import { assertAtMostOneOfferPerTrigger, assertBudgetNotExceeded } from './checks.ts';
import { useWorld } from './env.ts';
import { integrityKafka, produceRecords, waitConsumed } from './kafka-tools.ts';
import { collectOffers } from './readers.ts';
import { toRecord } from './stream.ts';
import { startRoles } from '../faults/processes.ts';

const PLAYERS = 300;
const BUDGET = 25;

describe('concurrent triggers for one budgeted rule', () => {
  const world = useWorld();

  it('never exceeds the budget, even when the triggers are replayed', async () => {
    const players = Array.from({ length: PLAYERS }, (_, i) => `pbudget${i}`);
    const [a, b] = await Promise.all([startRoles('processors', world().env), startRoles('processors', world().env)]);
    world().processes.push(a, b);
    const kafka = integrityKafka(world().brokers);
    const admin = kafka.admin();
    await admin.connect();
    const now = Date.now();
    const records = players.map((p, i) => toRecord(p, { id: `${p}-lvl`, type: 'level.up', data: { level: 2 + (i % 50) } }, now));
    await produceRecords(kafka, world().topic, records, 50);
    await waitConsumed(admin, world().groupId, world().topic);
    const offers = await collectOffers(world().redis, world().keyPrefix, players);
    const first = assertBudgetNotExceeded(offers, { ruleId: 'level-budget', count: BUDGET, per: 'day' });
    assertAtMostOneOfferPerTrigger(offers);
    expect(first.offered).toBe(BUDGET);

    await produceRecords(kafka, world().topic, records, 50);
    await waitConsumed(admin, world().groupId, world().topic);
    await admin.disconnect();
    const again = await collectOffers(world().redis, world().keyPrefix, players);
    assertBudgetNotExceeded(again, { ruleId: 'level-budget', count: BUDGET, per: 'day' });
    assertAtMostOneOfferPerTrigger(again);
    expect(again.map((o) => o.offerId).sort()).toEqual(offers.map((o) => o.offerId).sort());
    const windowStart = Math.floor(now / 86_400_000) * 86_400_000;
    const claims = await world().redis.scard(offerKeys(world().keyPrefix).budget('level-budget', windowStart));
    expect(claims).toBe(BUDGET);
    console.log(`budget: ${PLAYERS} concurrent triggers on 2 processors → ${first.offered} offers (budget ${BUDGET}); replayed ${PLAYERS} more → still ${again.length}, same ids; budget claims ${claims}`);
  }, 120_000);
});
