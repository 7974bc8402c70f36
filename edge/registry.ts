/** The sockets of this edge instance, by player. Several devices: several sessions per player. */
export interface Registered {
  readonly player: string;
}

export class SessionRegistry<S extends Registered> {
  private readonly byPlayer = new Map<string, Set<S>>();
  private total = 0;

  count(player: string): number {
    return this.byPlayer.get(player)?.size ?? 0;
  }

  /** True when this is the player's first socket here. */
  add(session: S): boolean {
    let set = this.byPlayer.get(session.player);
    const first = !set;
    if (!set) {
      set = new Set();
      this.byPlayer.set(session.player, set);
    }
    if (!set.has(session)) {
      set.add(session);
      this.total += 1;
    }
    return first;
  }

  /** True when the player has no socket left here. */
  remove(session: S): boolean {
    const set = this.byPlayer.get(session.player);
    if (!set || !set.delete(session)) return false;
    this.total -= 1;
    if (set.size > 0) return false;
    this.byPlayer.delete(session.player);
    return true;
  }

  of(player: string): readonly S[] {
    const set = this.byPlayer.get(player);
    return set ? [...set] : [];
  }

  players(): string[] {
    return [...this.byPlayer.keys()];
  }

  all(): S[] {
    const out: S[] = [];
    for (const set of this.byPlayer.values()) out.push(...set);
    return out;
  }

  get size(): number {
    return this.total;
  }
}
