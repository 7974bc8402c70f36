import type { Bundle, BundleSource } from './types.ts';

/** A BundleSource that never changes, for tests and tools. */
export function staticBundleSource(bundle: Bundle): BundleSource {
  return { current: () => bundle, onChange: () => () => undefined };
}
