/** Types of healthcheck.mjs, for the tests that import it. */
export declare const DEFAULT_EDGE_PORT: number;
export declare const DEFAULT_HEALTH_PORT: number;
export declare const HEALTH_PATH: string;
export declare function healthUrls(env?: Record<string, string | undefined>): string[];
export declare function isHealthy(urls: readonly string[], timeoutMs?: number): Promise<boolean>;
