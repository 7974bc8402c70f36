import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  BENCH_PLANS,
  batchFrame,
  comebackSequence,
  createEventSource,
  EVENT_MIX,
  K6_DEFAULTS,
  playerId,
  readServerFrame,
  SAMPLE_OFFER_SHARE,
} from '../../load/scenarios/index.ts';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const TYPE = /^[a-z0-9_.]{1,64}$/;

describe('load scenarios module', () => {
  it('imports nothing from Node or k6, only its own files', () => {
    const dir = join(process.cwd(), 'load', 'scenarios');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      const specifiers = [...text.matchAll(/(?:import|export)[^'"]*from\s*'([^']+)'/g)].map((m) => m[1]);
      for (const s of specifiers) expect(s, `${file} imports ${s}`).toMatch(/^\.\/[a-z-]+\.ts$/);
    }
  });

  it('generates the same traffic from the same seed, with ids unique per player', () => {
    const a = createEventSource({ seed: 7, payloadBytes: 120, idPrefix: 'p1.' }).batch(1, 200);
    const b = createEventSource({ seed: 7, payloadBytes: 120, idPrefix: 'p1.' }).batch(1, 200);
    expect(a).toEqual(b);
    expect(new Set(a.map((e) => e.id)).size).toBe(200);
    for (const e of a) {
      expect(e.id).toMatch(ID);
      expect(e.type).toMatch(TYPE);
    }
    expect(new Set(a.map((e) => e.type))).toEqual(new Set(EVENT_MIX.map((m) => m.type)));
  });

  it('pads events to about the payload size asked for', () => {
    for (const target of [120, 512, 2048]) {
      const events = createEventSource({ seed: 3, payloadBytes: target, idPrefix: 'x.' }).batch(1_700_000_000_000, 500);
      const avg = packr.pack(batchFrame(events)).length / events.length;
      expect(avg).toBeGreaterThan(target * 0.5);
      expect(avg).toBeLessThan(target * 1.5);
    }
  });

  it('builds a comeback sequence of losses with distinct ids', () => {
    const seq = comebackSequence('run-cb-1.', 3, 5);
    expect(seq.map((e) => e.data?.result)).toEqual(['loss', 'loss', 'loss']);
    expect(new Set(seq.map((e) => e.id)).size).toBe(3);
    expect(batchFrame(seq.slice(0, 1))).toMatchObject({ t: 'ev', type: 'match.end' });
    expect(batchFrame(seq)).toMatchObject({ t: 'evs' });
  });

  it('reads server frames and flags anything off-contract', () => {
    expect(readServerFrame({ t: 'ack', ids: ['a', 'b'] })).toEqual({ t: 'ack', ids: ['a', 'b'] });
    expect(readServerFrame({ t: 'err', code: 'bad_event', message: 'm', id: 'a' })).toEqual({ t: 'err', code: 'bad_event', message: 'm', id: 'a' });
    expect(readServerFrame({ t: 'offer', offer: { id: 'o', ruleId: 'r' } }).t).toBe('offer');
    expect(readServerFrame({ t: 'offer', offer: {} }).t).toBe('unknown');
    expect(readServerFrame({ t: 'ack', ids: 'a' }).t).toBe('unknown');
    expect(readServerFrame([1, 2]).t).toBe('unknown');
    expect(readServerFrame(null).t).toBe('unknown');
  });

  it('keeps player ids within the token contract and plans within the frame limits', () => {
    expect(playerId('k6abcdefgh', 'cb', 123_456)).toMatch(ID);
    expect(playerId('r'.repeat(80), 'cb', 1)).toMatch(ID);
    expect(SAMPLE_OFFER_SHARE).toBeCloseTo(0.855, 5);
    for (const plan of [BENCH_PLANS.full, BENCH_PLANS.quick]) {
      for (const s of [plan.ingestFixed, plan.ingestSaturation]) {
        expect(s.batchSize).toBeGreaterThanOrEqual(1);
        expect(s.batchSize).toBeLessThanOrEqual(500);
        expect(s.batchSize * s.payloadBytes).toBeLessThan(64 * 1024);
      }
    }
    expect(K6_DEFAULTS.offers.expectedOfferShare).toBe(SAMPLE_OFFER_SHARE);
  });
});
