/** Resolves after `ms` milliseconds; the timer keeps the process alive until then. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
