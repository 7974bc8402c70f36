import type { Decider } from './decider-seam.ts';

/**
 * A Decider that decides nothing: processors keep player state only. For state rebuilds
 * (replay into a fresh prefix must not make offers) and for running processors without
 * the offers role.
 */
export const stateOnlyDecider: Decider = {
  decideBatch: async () => undefined,
};
