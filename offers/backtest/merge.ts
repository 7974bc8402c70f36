/**
 * The deterministic order a backtest replays a window in: each partition in offset order
 * (so each player's events keep their order, as processors apply them), partitions
 * interleaved by taking, each step, the head with the smallest `recvAt` (ties: lower
 * partition). Pure: the same partitions give the same sequence whatever order the
 * records were fetched in.
 */
export interface Positioned<T> {
  readonly partition: number;
  readonly offset: string;
  /** The event's place in its Kafka record (protocol/record.ts); 0 when absent. */
  readonly index?: number;
  readonly recvAt: number;
  readonly item: T;
}

/** Index of the partition whose head goes next; -1 when every buffer is empty. */
export function nextPartition<T>(heads: ReadonlyMap<number, readonly Positioned<T>[]>): number {
  let best = -1;
  let bestAt = Infinity;
  for (const [p, buf] of heads) {
    const head = buf[0];
    if (!head) continue;
    if (head.recvAt < bestAt || (head.recvAt === bestAt && p < best)) {
      best = p;
      bestAt = head.recvAt;
    }
  }
  return best;
}

/** Merges fully buffered partitions (tests, and small windows). */
export function mergeAll<T>(partitions: ReadonlyMap<number, readonly Positioned<T>[]>): Positioned<T>[] {
  const queues = new Map([...partitions].map(([p, list]) => [p, [...list]]));
  const out: Positioned<T>[] = [];
  for (;;) {
    const p = nextPartition(queues);
    if (p < 0) return out;
    out.push(queues.get(p)?.shift() as Positioned<T>);
  }
}
