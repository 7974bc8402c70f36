/**
 * The image's HEALTHCHECK: exit 0 when this container's /healthz answers 200, else 1.
 * An edge serves health on EDGE_PORT, any other role on HEALTH_PORT (bin/roles.ts), and a
 * container holds one role, so whichever of the two answers is this process. Plain
 * JavaScript, no tsx: it runs every few seconds and must stay cheap.
 */
import { pathToFileURL } from 'node:url';

/** The defaults of EDGE_PORT and HEALTH_PORT in lib/config.ts (a unit test keeps them equal). */
export const DEFAULT_EDGE_PORT = 9001;
export const DEFAULT_HEALTH_PORT = 9003;
export const HEALTH_PATH = '/healthz';

/** The URLs to try, from the same variables the process itself reads. */
export function healthUrls(env = process.env) {
  const edge = env.EDGE_PORT || String(DEFAULT_EDGE_PORT);
  const health = env.HEALTH_PORT || String(DEFAULT_HEALTH_PORT);
  return [...new Set([edge, health])].map((port) => `http://127.0.0.1:${port}${HEALTH_PATH}`);
}

/** True when one of the URLs answers 200 within `timeoutMs`. */
export async function isHealthy(urls, timeoutMs = 2_000) {
  const answers = await Promise.all(
    urls.map((url) =>
      fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then(
        (res) => res.status === 200,
        () => false,
      ),
    ),
  );
  return answers.some(Boolean);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  isHealthy(healthUrls()).then((ok) => process.exit(ok ? 0 : 1));
}
