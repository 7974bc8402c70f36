/**
 * Memory stays flat while the frame path chews through hostile input: heapUsed and
 * arrayBuffers after a full GC, measured after a warm-up and again after many more
 * iterations, grow by less than a fixed bound. GC is made callable without a command-line
 * flag (v8.setFlagsFromString('--expose-gc') + a fresh context's `gc`), so the unit project
 * needs no special pool options; `global.gc` is used when node runs with --expose-gc.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { raw, validFrame } from './arbitraries.ts';
import { classify, countCases, casesRun } from './pipeline.ts';

function collector(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const gc = collector();

function settle(): { heap: number; buffers: number } {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

/** A fixed, seeded corpus of hostile and valid frames, replayed round after round. */
function corpus(size: number): Uint8Array[] {
  const bytes = fc.sample(fc.uint8Array({ maxLength: 256 }), { numRuns: size / 4, seed: 7 });
  const frames = fc.sample(validFrame, { numRuns: size / 4, seed: 8 }).map((f) => encode(f));
  const huge = Array.from({ length: size / 4 }, (_, i) => Uint8Array.from([...raw.map(2), ...raw.str('t'), ...raw.str('evs'), ...raw.str('events'), 0xdd, 0xff, 0xff, 0xff, i & 0xff]));
  const deep = Array.from({ length: size / 4 }, (_, i) => {
    const inner: number[] = [];
    for (let d = 0; d < 20 + (i % 200); d++) inner.push(0x91);
    inner.push(1);
    return Uint8Array.from([...raw.map(2), ...raw.str('t'), ...raw.str('ev'), ...raw.str('data'), ...inner]);
  });
  return [...bytes, ...frames, ...huge, ...deep];
}

describe('frame path memory', () => {
  it('heap and buffers stay flat over many rounds of hostile input', () => {
    const inputs = corpus(4_000);
    const round = () => {
      let events = 0;
      for (const b of inputs) {
        const o = classify(b);
        if (o.kind === 'events') events += o.results.length;
      }
      return events;
    };
    for (let i = 0; i < 5; i++) round();
    const before = settle();
    const rounds = 50;
    for (let i = 0; i < rounds; i++) round();
    const after = settle();
    countCases('memory rounds', rounds * inputs.length);
    console.log(
      `fuzz cases run (memory): ${[...casesRun.values()].reduce((a, b) => a + b, 0)}; heapUsed ${before.heap} -> ${after.heap} bytes, arrayBuffers ${before.buffers} -> ${after.buffers}`,
    );
    expect(after.heap - before.heap).toBeLessThan(4 * 1024 * 1024);
    expect(after.buffers - before.buffers).toBeLessThan(1024 * 1024);
  });
});
