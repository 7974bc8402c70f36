/**
 * Reads a process's /metrics (Prometheus text format) into samples, for fault tests that
 * assert what the operators would see (lag, not-ready, drops).
 */
import { httpGet } from './processes.ts';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the text exposition format; comment and blank lines are skipped. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[4]) });
  }
  return out;
}

/** Samples of the process on `port`; empty when it does not answer. */
export async function scrape(port: number): Promise<Sample[]> {
  const r = await httpGet(port, '/metrics');
  return r && r.status === 200 ? parseMetrics(r.body) : [];
}

/** Sum of every sample named `name` whose labels include `match`. */
export function sumOf(samples: readonly Sample[], name: string, match: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

/** Names of all samples, for finding a metric by prefix. */
export function namesOf(samples: readonly Sample[]): Set<string> {
  return new Set(samples.map((s) => s.name));
}
