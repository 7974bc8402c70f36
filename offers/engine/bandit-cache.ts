import type { Bundle, Rule } from '../../designer/types.ts';
import { offerKeys } from '../../lib/keys.ts';
import type { RedisClient } from '../../lib/redis.ts';
import { allocateRule, type Allocation, type ArmCounters } from './bandit.ts';

/** How long a process keeps a bandit rule's shares before it reads the counters again. */
export const BANDIT_REFRESH_MS = 10_000;

interface Cached {
  readonly rule: Rule;
  readonly allocation: Allocation;
  readonly shares: readonly number[];
  readonly at: number;
  /** The counters read, joined: unchanged counters give the same shares, which are then kept. */
  readonly counters: string;
}

/** The stats fields an arm's posterior reads: offered, purchased, revenue in the offer's currency. */
export function armFields(rule: Rule, variant: string): [string, string, string] {
  return [`${variant}|offered`, `${variant}|purchased`, `${variant}|revenue|${rule.offer.price.currency}`];
}

const count = (v: string | null | undefined): number => {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
};

/**
 * The shares of every live bandit rule, kept in process. The state of a bandit is nothing
 * but its rule's funnel counters (the `{s:<rule>}:stats` hash the decision path already
 * writes): `refresh` reads them with one HMGET per bandit rule, sent together, at most every
 * `refreshMs`, and recomputes the shares. Between refreshes the decision path reads the
 * shares from memory, with no round trip. Shadow and disabled rules are not refreshed: they
 * keep their weights (a shadow rule's offers are never delivered, so it has nothing to learn
 * from).
 */
export class BanditAllocations {
  private readonly byRule = new Map<string, Cached>();
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly refreshMs = BANDIT_REFRESH_MS,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The current shares of a bandit rule's arms; undefined before the first refresh (then: by weight). */
  readonly sharesOf = (rule: Rule): readonly number[] | undefined => {
    const c = this.byRule.get(rule.id);
    return c && c.rule === rule ? c.shares : undefined;
  };

  allocationOf(rule: Rule): Allocation | undefined {
    const c = this.byRule.get(rule.id);
    return c && c.rule === rule ? c.allocation : undefined;
  }

  /** Bandit rules of `bundle` whose shares are missing, of another version of the rule, or older than `refreshMs`. */
  private stale(bundle: Bundle, now: number): Rule[] {
    return bundle.rules.filter((r) => {
      if (!r.experiment?.bandit || !r.enabled || r.mode !== 'live') return false;
      const c = this.byRule.get(r.id);
      return !c || c.rule !== r || now - c.at >= this.refreshMs;
    });
  }

  /** Reads the counters of the stale bandit rules of `bundle` and recomputes their shares; nothing when none is stale. */
  refresh(redis: RedisClient, prefix: string, bundle: Bundle): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const now = this.clock();
    const rules = this.stale(bundle, now);
    if (rules.length === 0) return Promise.resolve();
    const keys = offerKeys(prefix);
    this.inFlight = Promise.all(
      rules.map(async (rule) => {
        const variants = rule.experiment?.variants ?? [];
        const values = await redis.hmget(keys.stats(rule.id), ...variants.flatMap((v) => armFields(rule, v.name)));
        const read = values.join(',');
        const cached = this.byRule.get(rule.id);
        if (cached && cached.rule === rule && cached.counters === read) {
          this.byRule.set(rule.id, { ...cached, at: now });
          return;
        }
        const byVariant = new Map<string, ArmCounters>();
        variants.forEach((v, i) => byVariant.set(v.name, { offered: count(values[3 * i]), purchased: count(values[3 * i + 1]), revenue: count(values[3 * i + 2]) }));
        const allocation = allocateRule(rule, (name) => byVariant.get(name) ?? { offered: 0, purchased: 0, revenue: 0 });
        if (allocation) this.byRule.set(rule.id, { rule, allocation, shares: allocation.arms.map((a) => a.share), at: now, counters: read });
      }),
    )
      .then(() => undefined)
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }
}
