/**
 * A set that forgets its oldest members past `capacity` (insertion order). Used per
 * connection for acked event ids (a resent id is acked again without a second produce)
 * and delivered offer ids (an offer is pushed once per socket). Pure.
 */
export class BoundedSet {
  private readonly items = new Set<string>();

  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.items.has(id);
  }

  add(id: string): void {
    if (this.items.has(id)) return;
    this.items.add(id);
    if (this.items.size > this.capacity) {
      const oldest = this.items.values().next().value;
      if (oldest !== undefined) this.items.delete(oldest);
    }
  }

  get size(): number {
    return this.items.size;
  }
}
