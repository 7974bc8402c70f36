/**
 * Reads V8 `.cpuprofile` files (from `node --cpu-prof`, main thread) and lists the hot
 * spots: functions by self time, with their file and line, as evidence for where a target
 * is missed.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface HotSpot {
  readonly fn: string;
  readonly where: string;
  readonly selfPct: number;
}

/** Functions by share of the busy samples ((idle) left out), highest first. */
export function hotSpots(file: string, top = 15): HotSpot[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples?: number[] };
  const hits = new Map<number, number>();
  for (const s of profile.samples ?? []) hits.set(s, (hits.get(s) ?? 0) + 1);
  const byFn = new Map<string, { fn: string; where: string; hits: number }>();
  let total = 0;
  for (const node of profile.nodes) {
    const fn = node.callFrame.functionName || '(anonymous)';
    if (fn === '(idle)') continue;
    const h = hits.get(node.id) ?? node.hitCount ?? 0;
    total += h;
    const url = node.callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(process.cwd() + '/', '');
    const where = url ? `${url}:${node.callFrame.lineNumber + 1}` : '(native)';
    const key = `${fn}@${where}`;
    const e = byFn.get(key) ?? { fn, where, hits: 0 };
    e.hits += h;
    byFn.set(key, e);
  }
  return [...byFn.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map((e) => ({ fn: e.fn, where: e.where, selfPct: total > 0 ? Math.round((1000 * e.hits) / total) / 10 : 0 }));
}
