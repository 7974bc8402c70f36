import { describe, expect, it } from 'vitest';
import { splitAtPurchases } from './chunks.ts';

const ev = (player: string, type: string) => ({ record: { player, type } });
const names = (rounds: ReturnType<typeof ev>[][]) => rounds.map((c) => c.map((i) => `${i.record.player}:${i.record.type}`));

describe('splitAtPurchases', () => {
  it("starts a player's next round at a purchase that follows their events, and keeps everyone else in the first", () => {
    const items = [
      ev('a', 'match.end'),
      ev('b', 'offer.purchased'),
      ev('b', 'match.end'),
      ev('c', 'match.end'),
      ev('a', 'offer.purchased'),
      ev('a', 'match.end'),
      ev('c', 'store.open'),
      ev('b', 'offer.purchased'),
      ev('a', 'offer.purchased'),
    ];
    expect(names(splitAtPurchases(items))).toEqual([
      ['a:match.end', 'b:offer.purchased', 'b:match.end', 'c:match.end', 'c:store.open'],
      ['a:offer.purchased', 'a:match.end', 'b:offer.purchased'],
      ['a:offer.purchased'],
    ]);
  });

  it("keeps every player's events in order across rounds", () => {
    const items = Array.from({ length: 60 }, (_, i) => ev(`p${i % 4}`, i % 5 === 0 ? 'offer.purchased' : `e${i}`));
    const flat = splitAtPurchases(items).flat();
    expect(flat).toHaveLength(items.length);
    for (const p of ['p0', 'p1', 'p2', 'p3']) {
      expect(flat.filter((x) => x.record.player === p)).toEqual(items.filter((x) => x.record.player === p));
    }
  });

  it('gives no rounds for no items', () => {
    expect(splitAtPurchases([])).toEqual([]);
  });
});
