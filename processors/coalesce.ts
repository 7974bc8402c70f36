/**
 * Joins the decide calls of the partitions a processor handles at the same time into one.
 *
 * kafkajs hands each partition of a fetch to its own `eachBatch` handler, several at once
 * (`partitionsConsumedConcurrently`, processors/index.ts). Their chunks are applied with
 * commands sent in the same write (the client is auto-pipelined), so their replies come
 * back together and their decide steps start in the same turn of the event loop. Decided
 * apart, each pays the decider's round trips (read, claim, write, stats: about 3 ms of CPU
 * per call here, whatever its size; docs/internals.md). Joined, they pay them once.
 *
 * Batch boundary: every call made before the next `setImmediate` turn joins one
 * `decideBatch` (at most one turn of delay for a call that finds no company), up to
 * `joinUpTo` events: a group that reaches it is decided at once, and a chunk that large on
 * its own is decided alone, without waiting. Large chunks gain nothing from company (their
 * round trips are shared by their own events already) and lose their overlap: the decider
 * decides a call's slices one after the other, where separate calls of several partitions
 * keep Redis and this process busy at the same time. The decider
 * takes events of several partitions in one call: each player's events keep their order
 * (a player is on one partition), and the decided markers are per partition. A failure
 * rejects every caller of the group; processors/batch.ts then retries each chunk on its own
 * (`decideStep`), so one partition's failing event never holds up, or is isolated with,
 * another partition's.
 */
import type { AppliedEvent } from './decider-seam.ts';

interface Waiting {
  readonly events: readonly AppliedEvent[];
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class DecideCoalescer {
  private waiting: Waiting[] = [];
  private waitingEvents = 0;
  /** Bumped by every flush: a scheduled turn finding a newer group leaves it to its own turn. */
  private generation = 0;
  private scheduled = false;

  constructor(
    private readonly decideBatch: (events: readonly AppliedEvent[]) => Promise<void>,
    private readonly joinUpTo: number,
  ) {}

  /** Resolves once the group this call joined is decided; rejects with the group's failure. */
  decide(events: readonly AppliedEvent[]): Promise<void> {
    if (events.length >= this.joinUpTo) return this.decideBatch(events);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ events, resolve, reject });
      this.waitingEvents += events.length;
      if (this.waitingEvents >= this.joinUpTo) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        const generation = this.generation;
        setImmediate(() => {
          if (generation === this.generation) this.flush();
        });
      }
    });
  }

  private flush(): void {
    const group = this.waiting;
    this.waiting = [];
    this.waitingEvents = 0;
    this.generation += 1;
    this.scheduled = false;
    const events = group.length === 1 ? (group[0] as Waiting).events : group.flatMap((w) => w.events);
    let decided: Promise<void>;
    try {
      decided = this.decideBatch(events);
    } catch (err) {
      decided = Promise.reject(err);
    }
    decided.then(
      () => group.forEach((w) => w.resolve()),
      (err: unknown) => group.forEach((w) => w.reject(err)),
    );
  }
}
