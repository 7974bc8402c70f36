import type { Role } from './roles.ts';

/**
 * Node flags a role's process should start with. The processors (which decide offers) keep
 * a whole slice of decisions alive across its round trips; with V8's default young
 * generation those objects are promoted and collected by full mark-compacts every few
 * seconds under load. A 64 MiB semi-space lets them die young: the decision path takes
 * about a fifth less CPU per decision at saturation (docs/operations.md, "Node runtime").
 * `npm start` starts its processors child with these; the deploy files set them through
 * NODE_OPTIONS on the processors containers.
 */
export const ROLE_NODE_FLAGS: Readonly<Record<Role, readonly string[]>> = {
  edge: [],
  processors: ['--max-semi-space-size=64'],
  offers: [],
};

/** The Node flags of a process running these roles (each flag once). */
export function nodeFlagsFor(roles: readonly Role[]): string[] {
  return [...new Set(roles.flatMap((r) => ROLE_NODE_FLAGS[r]))];
}
