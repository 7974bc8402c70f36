/**
 * Connection caps of one edge process: all its sockets (`PLAYPULSE_MAX_CONNECTIONS`), and the
 * sockets from one remote address (`PLAYPULSE_MAX_CONNS_PER_IP`, 0: no per-address cap).
 * Counted at open and close, so an upgrade in progress is not yet counted: the edge may
 * overshoot a cap by the upgrades of one event-loop turn, never by more. The address is the
 * peer of the TCP connection: behind a load balancer that is the balancer, so the per-address
 * cap belongs where the edge sees its clients directly (docs/delivery.md, "Connection caps").
 */
export type CapRefusal = 'edge' | 'address';

export class ConnectionCaps {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Whether a socket from `address` is under the caps; takes its place when it is (release it on close). */
  admit(address: string | null): CapRefusal | null {
    if (this.total >= this.maxTotal) return 'edge';
    if (this.maxPerAddress > 0 && address !== null) {
      const n = this.byAddress.get(address) ?? 0;
      if (n >= this.maxPerAddress) return 'address';
      this.byAddress.set(address, n + 1);
    }
    this.total += 1;
    return null;
  }

  release(address: string | null): void {
    this.total = Math.max(0, this.total - 1);
    if (this.maxPerAddress > 0 && address !== null) {
      const n = (this.byAddress.get(address) ?? 1) - 1;
      if (n <= 0) this.byAddress.delete(address);
      else this.byAddress.set(address, n);
    }
  }

  /** Whether the per-address cap is on, i.e. whether callers need a socket's address at all. */
  get perAddress(): boolean {
    return this.maxPerAddress > 0;
  }

  get open(): number {
    return this.total;
  }

  /** Addresses with at least one counted socket (bounded by the open sockets). */
  get addresses(): number {
    return this.byAddress.size;
  }
}
