/**
 * The apply script (processors/lua/applyEvents-4.lua) through applyItems, against real Redis
 * (or the 3-node cluster with PLAYPULSE_TEST_REDIS=cluster): every property kind, windows at
 * their edges, streak resets, duplicates by offset and by id, field type errors, poison
 * isolation, and readPlayerState agreeing with the script.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playerKeys } from '../../lib/keys.ts';
import { compileBundle } from '../../designer/compile.ts';
import type { Bundle } from '../../designer/types.ts';
import type { EventRecord } from '../../protocol/record.ts';
import { RESEND_WINDOW } from '../../protocol/limits.ts';
import { applyItems, GAPS_KEPT, STREAMS_KEPT, type ApplyItem, type ApplyOptions } from '../../processors/apply.ts';
import { planFor } from '../../processors/plan.ts';
import { createApplyClient, type ScriptClient } from '../../processors/scripts.ts';
import { DAY_MS, readPlayerState } from '../../processors/state.ts';
import { cleanupRedisPrefix, testServices, uniqueName } from '../helpers/stack.ts';
import { BASE_TIME, compileGame } from './processors-fixtures.ts';

const MIN = 60_000;
let redis: ScriptClient;
const prefixes: string[] = [];

beforeAll(() => {
  redis = createApplyClient(testServices().redisUrl, 'test-apply');
});

afterAll(async () => {
  for (const p of prefixes) await cleanupRedisPrefix(redis, p);
  await redis.quit();
});

function options(): ApplyOptions {
  const keyPrefix = uniqueName('ta');
  prefixes.push(keyPrefix);
  return { keyPrefix, seenMax: 128, seenAgeMs: DAY_MS };
}

let offset = 0;
/** An event of client stream `stream` with sequence number `seq`. */
function seqItem(player: string, stream: string, seq: number, recvAt: number, at?: string): ApplyItem {
  const it = item(player, 'match.end', { result: 'loss' }, recvAt, `${stream}-${seq}-${offset}`, 0, at);
  return { ...it, record: { ...it.record, stream, seq } };
}

function item(player: string, type: string, data: Record<string, unknown> | undefined, recvAt: number, id = `id-${offset}`, partition = 0, at?: string): ApplyItem {
  const record: EventRecord = { v: 1, player, id, type, data, recvAt, edge: 'e', session: 's' };
  offset += 1;
  return { record, partition, offset: at ?? String(offset), index: 0 };
}

async function apply(bundle: Bundle, items: ApplyItem[], opts: ApplyOptions) {
  return applyItems(redis, planFor(bundle), items, opts);
}

describe('property kinds', () => {
  const bundle = compileGame();

  it('applies count, streak (with resets), sum, min, max and last', async () => {
    const opts = options();
    const t = BASE_TIME;
    const out = await apply(
      bundle,
      [
        item('p1', 'match.end', { result: 'loss', score: 10 }, t),
        item('p1', 'match.end', { result: 'loss', score: 30 }, t + 1),
        item('p1', 'shop.purchase', { sku: 'a', coins: 50 }, t + 2),
        item('p1', 'match.end', { result: 'win', score: 20 }, t + 3),
        item('p1', 'match.end', { result: 'loss' }, t + 4),
        item('p1', 'shop.purchase', { sku: 'b', coins: 20 }, t + 5),
        item('p1', 'level.up', { level: 7 }, t + 6),
        item('p1', 'chat.message', { text: 'hi' }, t + 7),
      ],
      opts,
    );
    expect(out.failed).toEqual([]);
    expect(out.applied.map((a) => a.duplicate)).toEqual(Array(8).fill(false));
    expect(out.applied.map((a) => a.state.props.loss_streak)).toEqual([1, 2, 2, 0, 1, 1, 1, 1]);
    const last = out.applied[7]?.state;
    expect(last).toEqual({
      id: 'p1',
      first_seen: t,
      last_seen: t + 7,
      events_total: 8,
      offers_today: 0,
      last_purchase_at: null,
      props: { matches: 4, loss_streak: 1, losses_10m: 3, coins_7d: 70, coins_total: 70, cheapest: 20, best_score: 30, level: 7, last_sku: 'b' },
    });
    expect(await readPlayerState(redis, opts.keyPrefix, 'p1', bundle, t + 7)).toEqual(last);
  });

  it('starts every property from its initial value', async () => {
    const opts = options();
    const out = await apply(bundle, [item('p2', 'chat.message', {}, BASE_TIME)], opts);
    expect(out.applied[0]?.state.props).toEqual({ matches: 0, loss_streak: 0, losses_10m: 0, coins_7d: 0, coins_total: 0, cheapest: null, best_score: null, level: null, last_sku: null });
    const none = await readPlayerState(redis, opts.keyPrefix, 'nobody', bundle, BASE_TIME);
    expect(none).toEqual({ id: 'nobody', first_seen: 0, last_seen: 0, events_total: 0, offers_today: 0, last_purchase_at: null, props: out.applied[0]?.state.props });
  });

  it('keeps fractional sums and booleans exactly', async () => {
    const r = compileBundle({
      'events.yaml': 'events:\n  pay:\n    data:\n      amount: double\n      vip: bool\n',
      'properties.yaml': 'properties:\n  spent: { sum: { event: pay, field: data.amount } }\n  spent_1h: { sum: { event: pay, field: data.amount, window: 1h } }\n  vip: { last: { event: pay, field: data.vip } }\n  low: { min: { event: pay, field: data.amount } }\n',
    });
    if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
    const opts = options();
    const out = await apply(
      r.bundle,
      [item('p3', 'pay', { amount: 0.1, vip: true }, BASE_TIME), item('p3', 'pay', { amount: 0.2, vip: false }, BASE_TIME + 1), item('p3', 'pay', { amount: -1.5 }, BASE_TIME + 2)],
      opts,
    );
    const s = out.applied[2]?.state.props;
    expect(s).toEqual({ spent: 0.1 + 0.2 - 1.5, spent_1h: 0.1 + 0.2 - 1.5, vip: false, low: -1.5 });
    expect((await readPlayerState(redis, opts.keyPrefix, 'p3', r.bundle, BASE_TIME + 2)).props).toEqual(s);
  });

  it('skips a field of the wrong type for that property only and reports it', async () => {
    const opts = options();
    const out = await apply(bundle, [item('p4', 'shop.purchase', { sku: 'a', coins: 'lots' }, BASE_TIME)], opts);
    expect(out.failed).toEqual([]);
    expect(out.fieldErrors[0]?.errors.map((e) => e.property)).toEqual(['coins_7d', 'coins_total', 'cheapest']);
    expect(out.applied[0]?.state.events_total).toBe(1);
    expect(out.applied[0]?.state.props).toMatchObject({ coins_7d: 0, coins_total: 0, cheapest: null, last_sku: 'a' });
  });

  it('records offer.purchased as last_purchase_at and reads offers_today only on its day', async () => {
    const opts = options();
    const t = BASE_TIME;
    await redis.hset(playerKeys(opts.keyPrefix, 'p5').state, 'offers_today', '2', 'offers_day', String(Math.floor(t / DAY_MS)));
    const out = await apply(bundle, [item('p5', 'offer.purchased', { offerId: 'o1' }, t), item('p5', 'chat.message', {}, t + DAY_MS)], opts);
    expect(out.applied[0]?.state).toMatchObject({ last_purchase_at: t, offers_today: 2 });
    expect(out.applied[1]?.state).toMatchObject({ last_purchase_at: t, offers_today: 0 });
  });
});

describe('windows at their edges', () => {
  const bundle = compileGame();
  const t0 = Math.ceil(BASE_TIME / 10_000) * 10_000;

  it('counts an event for exactly one window (10m, 10 s buckets) and never after', async () => {
    const opts = options();
    const loss = item('w1', 'match.end', { result: 'loss' }, t0);
    const out = await apply(bundle, [loss, item('w1', 'chat.message', {}, t0 + 10 * MIN - 1), item('w1', 'chat.message', {}, t0 + 10 * MIN)], opts);
    expect(out.applied.map((a) => a.state.props.losses_10m)).toEqual([1, 1, 0]);
    expect((await readPlayerState(redis, opts.keyPrefix, 'w1', bundle, t0 + 10 * MIN - 1)).props.losses_10m).toBe(1);
    expect((await readPlayerState(redis, opts.keyPrefix, 'w1', bundle, t0 + 10 * MIN)).props.losses_10m).toBe(0);
  });

  it('is accurate to one bucket: the last ms of a bucket leaves with its bucket', async () => {
    const opts = options();
    const e = t0 + 9_999;
    const out = await apply(
      bundle,
      [item('w2', 'match.end', { result: 'loss' }, e), item('w2', 'chat.message', {}, e + 10 * MIN - 10_000), item('w2', 'chat.message', {}, e + 10 * MIN - 9_999)],
      opts,
    );
    expect(out.applied.map((a) => a.state.props.losses_10m)).toEqual([1, 1, 0]);
  });

  it('slides: old buckets leave while new ones count, and the script drops expired buckets', async () => {
    const opts = options();
    const items = [0, 3, 6, 9, 12, 15].map((m) => item('w3', 'match.end', { result: 'loss' }, t0 + m * MIN));
    const out = await apply(bundle, items, opts);
    expect(out.applied.map((a) => a.state.props.losses_10m)).toEqual([1, 2, 3, 4, 4, 4]);
    const plan = planFor(bundle);
    const field = plan.properties.find((p) => p.spec.name === 'losses_10m')?.storageField as string;
    const stored = await redis.getBuffer(playerKeys(opts.keyPrefix, 'w3').windows);
    const { unpack } = await import('msgpackr');
    const lists = unpack(stored as Buffer) as Record<string, number[]>;
    expect((lists[field] as number[]).filter((_, i) => i % 2 === 0)).toEqual([6, 9, 12, 15].map((m) => (t0 + m * MIN) / 10_000));
  });

  it('reads window buckets an older version left in a hash, and replaces the hash with the string', async () => {
    const opts = options();
    const plan = planFor(bundle);
    const field = plan.properties.find((p) => p.spec.name === 'losses_10m')?.storageField as string;
    const key = playerKeys(opts.keyPrefix, 'w9').windows;
    const { pack, unpack } = await import('msgpackr');
    await redis.hset(key, field, Buffer.from(pack([Math.floor(t0 / 10_000), 2])));
    const out = await apply(bundle, [item('w9', 'match.end', { result: 'loss' }, t0)], opts);
    expect(out.applied[0]?.state.props.losses_10m).toBe(3);
    expect(await redis.type(key)).toBe('string');
    expect((unpack((await redis.getBuffer(key)) as Buffer) as Record<string, number[]>)[field]).toEqual([Math.floor(t0 / 10_000), 3]);
  });

  it('sums over 7 days', async () => {
    const opts = options();
    const out = await apply(
      bundle,
      [item('w4', 'shop.purchase', { sku: 'a', coins: 5 }, t0), item('w4', 'shop.purchase', { sku: 'a', coins: 7 }, t0 + 6 * DAY_MS), item('w4', 'chat.message', {}, t0 + 7 * DAY_MS)],
      opts,
    );
    expect(out.applied.map((a) => a.state.props.coins_7d)).toEqual([5, 12, 7]);
    expect(out.applied[2]?.state.props.coins_total).toBe(12);
  });

  it('never runs a player clock backwards: an earlier receive time counts at last_seen', async () => {
    const opts = options();
    const out = await apply(bundle, [item('w5', 'chat.message', {}, t0 + 20 * MIN), item('w5', 'match.end', { result: 'loss' }, t0)], opts);
    expect(out.applied[1]?.state).toMatchObject({ last_seen: t0 + 20 * MIN, props: { losses_10m: 1 } });
  });
});

describe('effectively once', () => {
  const bundle = compileGame();

  it('skips a redelivered offset and a resent event id, and changes nothing', async () => {
    const opts = options();
    const first = [item('d1', 'match.end', { result: 'loss' }, BASE_TIME, 'a', 0, '10'), item('d1', 'match.end', { result: 'loss' }, BASE_TIME + 1, 'b', 0, '11')];
    const once = await apply(bundle, first, opts);
    const again = await apply(bundle, first, opts);
    expect(again.duplicatesByOffset).toBe(2);
    expect(again.applied.every((a) => a.duplicate)).toBe(true);
    expect(again.applied[1]?.state).toEqual(once.applied[1]?.state);

    const resent = await apply(bundle, [item('d1', 'match.end', { result: 'loss' }, BASE_TIME + 2, 'a', 0, '12'), item('d1', 'match.end', { result: 'loss' }, BASE_TIME + 3, 'b', 1, '0')], opts);
    expect(resent.duplicatesById).toBe(2);
    expect(resent.applied[1]?.state).toEqual(once.applied[1]?.state);
    expect(await redis.hgetall(playerKeys(opts.keyPrefix, 'd1').watermark)).toEqual({ '0': '12', '1': '0' });
  });

  it('treats a repeated id within one call as a duplicate', async () => {
    const opts = options();
    const out = await apply(bundle, [item('d2', 'match.end', { result: 'loss' }, BASE_TIME, 'x'), item('d2', 'match.end', { result: 'loss' }, BASE_TIME + 1, 'x')], opts);
    expect(out.applied.map((a) => a.duplicate)).toEqual([false, true]);
    expect(out.applied[1]?.state.props.matches).toBe(1);
  });

  it('bounds the seen ids by count (trimmed back once a third over) and their effect by age', async () => {
    const opts = { ...options(), seenMax: 6, seenAgeMs: 1_000 };
    const key = playerKeys(opts.keyPrefix, 'd3').seen;
    await apply(bundle, Array.from({ length: 8 }, (_, i) => item('d3', 'chat.message', {}, BASE_TIME + i, `s${i}`)), opts);
    expect(await redis.zrange(key, 0, -1)).toEqual(['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7']);
    await apply(bundle, [item('d3', 'chat.message', {}, BASE_TIME + 8, 's8')], opts);
    expect(await redis.zrange(key, 0, -1)).toEqual(['s3', 's4', 's5', 's6', 's7', 's8']);
    const resent = await apply(bundle, [item('d3', 'chat.message', {}, BASE_TIME + 1_005, 's4'), item('d3', 'chat.message', {}, BASE_TIME + 1_006, 's7')], opts);
    expect(resent.applied.map((a) => a.duplicate)).toEqual([false, true]);
    expect(resent.applied[1]?.state.events_total).toBe(10);
  });

  it('applies a long run of one player in one call (ids and scores in slices); without seq only the latest ids stay seen', async () => {
    const opts = options();
    const items = Array.from({ length: 2_500 }, (_, i) => item('d4', 'match.end', { result: 'loss' }, BASE_TIME + i, `long-${i}`));
    const out = await apply(bundle, items, opts);
    expect(out.applied).toHaveLength(2_500);
    expect(out.applied[2_499]?.state.props).toMatchObject({ matches: 2_500, loss_streak: 2_500 });
    // The documented limit of clients that send no seq (docs/protocol.md): only the last
    // seenMax ids are remembered, so a deeper resend counts again. Streams remove it (below).
    const again = await apply(bundle, items.map((it, i) => ({ ...it, offset: String(100_000 + i) })), opts);
    expect(again.duplicatesById).toBe(opts.seenMax);
    expect(again.applied.at(-1)?.state.props.matches).toBe(2_500 + 2_500 - opts.seenMax);
  });
  it('applies different players in one pipeline independently', async () => {
    const opts = options();
    const items = [];
    for (let i = 0; i < 50; i++) items.push(item(`m${i % 10}`, 'match.end', { result: 'loss' }, BASE_TIME + i));
    const out = await apply(bundle, items, opts);
    expect(out.applied.map((a) => a.record.id)).toEqual(items.map((i) => i.record.id));
    for (let p = 0; p < 10; p++) expect((await readPlayerState(redis, opts.keyPrefix, `m${p}`, bundle, BASE_TIME + 50)).props.matches).toBe(5);
  });
});

describe('poison', () => {
  const bundle = compileGame();

  it('isolates an event the script refuses; the player’s other events and other players apply', async () => {
    const opts = options();
    const items = [
      item('x1', 'match.end', { result: 'loss' }, BASE_TIME),
      item('x1', 'match.end', { result: 'loss' }, BASE_TIME + 1, 'bad', 0, 'not-an-offset'),
      item('x1', 'match.end', { result: 'loss' }, BASE_TIME + 2),
      item('x2', 'match.end', { result: 'win' }, BASE_TIME + 3),
    ];
    const out = await apply(bundle, items, opts);
    expect(out.failed.map((f) => f.item.record.id)).toEqual(['bad']);
    expect(out.failed[0]?.error.message).toMatch(/PP_BAD_ARGS/);
    expect(out.applied.map((a) => a.record.id)).toEqual([items[0]?.record.id, items[2]?.record.id, items[3]?.record.id]);
    expect(out.applied[1]?.state.props.loss_streak).toBe(2);
  });

  it('fails every event of a player whose keys hold the wrong type, and only those', async () => {
    const opts = options();
    await redis.set(playerKeys(opts.keyPrefix, 'x3').state, 'not a hash');
    const out = await apply(bundle, [item('x3', 'chat.message', {}, BASE_TIME), item('x4', 'chat.message', {}, BASE_TIME)], opts);
    expect(out.failed.map((f) => f.item.record.player)).toEqual(['x3']);
    expect(out.failed[0]?.error.message).toMatch(/WRONGTYPE/);
    expect(out.applied.map((a) => a.record.player)).toEqual(['x4']);
  });
});

describe('client resends with stream and seq', () => {
  const bundle = compileGame();

  /** The same events at new offsets (a resend on a new socket): new event ids would not matter, the seq does. */
  let next = 1_000_000_000;
  const resend = (items: readonly ApplyItem[]): ApplyItem[] =>
    items.map((it) => ({ ...it, offset: String(next++), record: { ...it.record, id: `${it.record.id}-again` } }));

  it('counts 5,000 events once when every one of them is resent, in chunks, at new offsets', async () => {
    const opts = options();
    const items = Array.from({ length: 5_000 }, (_, i) => seqItem('r1', 'phone-a', i + 1, BASE_TIME + i, String(i)));
    for (let i = 0; i < items.length; i += 1_000) await apply(bundle, items.slice(i, i + 1_000), opts);
    const again = resend(items);
    let dup = 0;
    for (let i = 0; i < again.length; i += 700) dup += (await apply(bundle, again.slice(i, i + 700), opts)).duplicatesBySeq;
    expect(dup).toBe(5_000);
    const state = await readPlayerState(redis, opts.keyPrefix, 'r1', bundle, BASE_TIME + 5_000);
    expect(state.events_total).toBe(5_000);
    expect(state.props.matches).toBe(5_000);
    expect(await redis.exists(playerKeys(opts.keyPrefix, 'r1').seen)).toBe(0);
  });

  it('applies the holes a resend fills, and only them, whatever order the copies land in', async () => {
    const opts = options();
    const all = Array.from({ length: 100 }, (_, i) => seqItem('r2', 'phone-a', i + 1, BASE_TIME + i));
    // The first socket's events 40..60 and 80 never reached Kafka; its resend lands first for 1..50, then the rest.
    const first = all.filter((it) => !((it.record.seq as number) >= 40 && (it.record.seq as number) <= 60) && it.record.seq !== 80);
    const out1 = await apply(bundle, first, opts);
    expect(out1.duplicatesBySeq).toBe(0);
    const again = resend(all);
    const out2 = await apply(bundle, again.slice(0, 50), opts);
    expect(out2.applied.filter((a) => !a.duplicate).map((a) => a.record.seq)).toEqual(Array.from({ length: 11 }, (_, i) => 40 + i));
    const out3 = await apply(bundle, again.slice(50), opts);
    expect(out3.applied.filter((a) => !a.duplicate).map((a) => a.record.seq)).toEqual([...Array.from({ length: 10 }, (_, i) => 51 + i), 80]);
    expect(out3.applied.every((a) => !a.duplicate || a.resent)).toBe(true);
    const state = await readPlayerState(redis, opts.keyPrefix, 'r2', bundle, BASE_TIME + 100);
    expect(state.props.matches).toBe(100);
    expect(state.events_total).toBe(100);
  });

  it('keeps streams apart, and the same seq on two streams counts twice', async () => {
    const opts = options();
    const a = Array.from({ length: 10 }, (_, i) => seqItem('r3', 'phone-a', i + 1, BASE_TIME + i));
    const b = Array.from({ length: 10 }, (_, i) => seqItem('r3', 'tablet-b', i + 1, BASE_TIME + 20 + i));
    await apply(bundle, [...a, ...b], opts);
    const out = await apply(bundle, resend([...b, ...a]), opts);
    expect(out.duplicatesBySeq).toBe(20);
    expect((await readPlayerState(redis, opts.keyPrefix, 'r3', bundle, BASE_TIME + 40)).props.matches).toBe(20);
  });

  it('counts a seq once up to RESEND_WINDOW below the newest; older ones are taken for resends', async () => {
    const opts = options();
    await apply(bundle, [seqItem('r4', 's', 1, BASE_TIME), seqItem('r4', 's', RESEND_WINDOW + 10, BASE_TIME + 1)], opts);
    const out = await apply(bundle, [seqItem('r4', 's', 5, BASE_TIME + 2), seqItem('r4', 's', 11, BASE_TIME + 3), seqItem('r4', 's', 10, BASE_TIME + 4)], opts);
    // 5 and 10 are at or below newest - W (a hole that old is dropped); 11 is inside the window and in the hole.
    expect(out.applied.map((a) => a.duplicate)).toEqual([true, false, true]);
    expect((await readPlayerState(redis, opts.keyPrefix, 'r4', bundle, BASE_TIME + 5)).props.matches).toBe(3);
  });

  it(`remembers ${STREAMS_KEPT} streams per player and ${GAPS_KEPT} holes per stream`, async () => {
    const opts = options();
    const streams = Array.from({ length: STREAMS_KEPT + 1 }, (_, i) => `dev-${i}`);
    // Stream dev-0 is used first, so it is the one forgotten when the ninth arrives.
    for (let i = 0; i < streams.length; i += 1) await apply(bundle, [seqItem('r5', streams[i] as string, 1, BASE_TIME + i)], opts);
    const out = await apply(bundle, streams.map((s, i) => seqItem('r5', s, 1, BASE_TIME + 100 + i)), opts);
    expect(out.applied.map((a) => a.duplicate)).toEqual([false, ...Array(STREAMS_KEPT).fill(true)]);

    // GAPS_KEPT + 3 holes: every even seq missing; the 3 oldest holes are dropped.
    const holes = GAPS_KEPT + 3;
    await apply(bundle, Array.from({ length: holes + 1 }, (_, i) => seqItem('r6', 'h', 2 * i + 1, BASE_TIME + i)), opts);
    const filled = await apply(bundle, Array.from({ length: holes }, (_, i) => seqItem('r6', 'h', 2 * i + 2, BASE_TIME + 200 + i)), opts);
    expect(filled.applied.map((a) => a.duplicate)).toEqual([true, true, true, ...Array(GAPS_KEPT).fill(false)]);
  });

  it('refuses a payload whose seq comes without a stream, writing nothing', async () => {
    const opts = options();
    const bad = seqItem('r7', 's', 1, BASE_TIME);
    const out = await apply(bundle, [{ ...bad, record: { ...bad.record, seq: 1.5 } }], opts);
    expect(out.failed).toHaveLength(1);
    expect(await redis.exists(playerKeys(opts.keyPrefix, 'r7').state)).toBe(0);
  });
});

describe('retention', () => {
  it('gives every key the apply script writes an expiry from the server clock, refreshed on activity', async () => {
    const bundle = compileGame();
    const opts = options();
    const plan = planFor(bundle);
    const k = playerKeys(opts.keyPrefix, 'ret1');
    await applyItems(redis, plan, [item('ret1', 'match.end', { result: 'loss', score: 3 }, BASE_TIME, 'no-seq'), item('ret1', 'shop.purchase', { sku: 'a', coins: 5 }, BASE_TIME + 1)], opts);
    for (const key of [k.state, k.watermark, k.windows]) {
      const ttl = await redis.pttl(key);
      expect(ttl, key).toBeGreaterThan(plan.retentionMs - 60_000);
      expect(ttl, key).toBeLessThanOrEqual(plan.retentionMs);
    }
    const seenTtl = await redis.pttl(k.seen);
    expect(seenTtl).toBeGreaterThan(0);
    expect(seenTtl).toBeLessThanOrEqual(opts.seenAgeMs);
    await redis.pexpire(k.state, 5_000);
    await applyItems(redis, plan, [item('ret1', 'match.end', { result: 'win' }, BASE_TIME + 2)], opts);
    expect(await redis.pttl(k.state)).toBeGreaterThan(plan.retentionMs - 60_000);
  });
});
