/**
 * Script settings from `-e NAME=value` (or the environment): the target, the secret or token
 * file, and overrides of the shared scenario numbers. A bad number stops the script at init
 * with the variable named.
 */
import type { EventStream } from '../../scenarios/index.ts';

export function envString(name: string, fallback: string): string {
  const v = __ENV[name];
  return v === undefined || v === '' ? fallback : v;
}

export function envNumber(name: string, fallback: number): number {
  const v = __ENV[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${JSON.stringify(v)}: expected a non-negative number`);
  return n;
}

/** Base URL of the edge, e.g. ws://127.0.0.1:9001 or wss://play.example.com. */
export const PP_URL = envString('PP_URL', 'ws://127.0.0.1:9001').replace(/\/+$/, '');

/** Distinguishes the player ids of one run from the next, so cooldowns and caps of earlier runs do not apply. */
export const PP_RUN_ID = envString('PP_RUN_ID', `k6${Date.now().toString(36)}`);

/** The upgrade URL of one socket; with `stream`, its events carry seq (scenarios/stream.ts). */
export function playUrl(token: string, stream?: EventStream): string {
  const base = `${PP_URL}/v1/play?token=${encodeURIComponent(token)}`;
  return stream ? `${base}&${stream.query}` : base;
}

/** Threshold string for a Trend percentile, e.g. p(99)<10. */
export function below(percentile: number, ms: number): string {
  return `p(${percentile})<${ms}`;
}
