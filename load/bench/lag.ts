/**
 * Consumer lag and consumption rate of the groups reading one topic, sampled from Kafka
 * itself (end offsets minus committed offsets), so the figure does not depend on what the
 * consumers report about themselves.
 *
 * Kafka counts records, and our edge writes one record per client frame (protocol/record.ts,
 * version 2) while the ws peer writes one per event. Each sample also takes how many events
 * beyond one per record the writers had put in the topic (`extraEvents`, from our edges'
 * counters); `inEvents` turns records into events with it, interpolating between samples
 * for a committed position, so every figure is in events whatever the frame sizes.
 */
import type { Admin } from 'kafkajs';
import { createKafka } from '../../lib/kafka.ts';

export interface LagSample {
  /** ms since the sampler started. */
  readonly atMs: number;
  readonly endOffset: number;
  /** Events in the topic beyond one per record, when the sample was taken (0 when not known). */
  readonly extraEvents?: number;
  /** Per group: committed offsets summed over partitions, and lag. */
  readonly groups: Record<string, { committed: number; lag: number }>;
}

export interface LagSampler {
  readonly samples: LagSample[];
  /** When it started (epoch ms): the zero of every sample's `atMs`. */
  readonly startedAt: number;
  stop(): Promise<void>;
}

async function endOffset(admin: Admin, topic: string): Promise<Map<number, number>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
}

export async function sampleOnce(admin: Admin, topic: string, groupIds: readonly string[], t0: number): Promise<LagSample> {
  const ends = await endOffset(admin, topic);
  let endTotal = 0;
  for (const v of ends.values()) endTotal += v;
  const groups: Record<string, { committed: number; lag: number }> = {};
  for (const groupId of groupIds) {
    const res = await admin.fetchOffsets({ groupId, topics: [topic] });
    let committed = 0;
    let lag = 0;
    for (const p of res[0]?.partitions ?? []) {
      const c = Math.max(0, Number(p.offset));
      committed += c;
      lag += Math.max(0, (ends.get(p.partition) ?? 0) - c);
    }
    groups[groupId] = { committed, lag };
  }
  return { atMs: Date.now() - t0, endOffset: endTotal, groups };
}

/** Groups that have committed offsets on `topic`. */
export async function groupsOnTopic(admin: Admin, topic: string): Promise<string[]> {
  const { groups } = await admin.listGroups();
  const out: string[] = [];
  for (const g of groups) {
    const res = await admin.fetchOffsets({ groupId: g.groupId, topics: [topic] }).catch(() => []);
    if ((res[0]?.partitions ?? []).some((p) => Number(p.offset) >= 0)) out.push(g.groupId);
  }
  return out.sort();
}

/**
 * `samples` with end offsets, committed positions and lags in events: a record count r is
 * r plus the extra events written up to it, interpolated between the samples whose end
 * offsets bracket it (before the first sample, in proportion to it).
 */
export function inEvents(samples: readonly LagSample[]): LagSample[] {
  const known = samples.filter((s) => s.extraEvents !== undefined);
  if (known.length === 0) return [...samples];
  const extraAt = (records: number): number => {
    const first = known[0] as LagSample;
    if (records <= first.endOffset) return first.endOffset > 0 ? ((first.extraEvents ?? 0) * records) / first.endOffset : 0;
    for (let i = 1; i < known.length; i++) {
      const a = known[i - 1] as LagSample;
      const b = known[i] as LagSample;
      if (records <= b.endOffset) {
        const span = b.endOffset - a.endOffset;
        const x = (a.extraEvents ?? 0) + (span > 0 ? (((b.extraEvents ?? 0) - (a.extraEvents ?? 0)) * (records - a.endOffset)) / span : 0);
        return x;
      }
    }
    return (known[known.length - 1] as LagSample).extraEvents ?? 0;
  };
  return samples.map((s) => {
    const end = s.endOffset + extraAt(s.endOffset);
    const groups: LagSample['groups'] = {};
    for (const [g, v] of Object.entries(s.groups)) {
      const committed = Math.round(v.committed + extraAt(v.committed));
      groups[g] = { committed, lag: Math.max(0, Math.round(end) - committed) };
    }
    return { ...s, endOffset: Math.round(end), groups };
  });
}

/** Samples per scrape of the edges' counters. */
const EXTRA_EVERY = 6;

/** `extraEvents`: events written to the topic beyond one per record so far (our edges' counters); omitted, figures stay in records. */
export async function startLagSampler(brokers: readonly string[], topic: string, everyMs: number, extraEvents?: () => Promise<number | null>): Promise<LagSampler> {
  const admin = createKafka(brokers, 'playpulse-bench-lag').admin();
  await admin.connect();
  const samples: LagSample[] = [];
  const t0 = Date.now();
  let groups: string[] = [];
  let stopped = false;
  let busy: Promise<void> = Promise.resolve();
  const tick = async () => {
    try {
      if (groups.length === 0 || samples.length % 5 === 0) groups = await groupsOnTopic(admin, topic);
      const sample = await sampleOnce(admin, topic, groups, t0);
      // Every EXTRA_EVERY-th sample only: a scrape of an edge's /metrics reads its open file
      // descriptors (prom-client's process metrics), costly with thousands of sockets.
      const extra = extraEvents && samples.length % EXTRA_EVERY === 0 ? await extraEvents() : null;
      samples.push(extra === null ? sample : { ...sample, extraEvents: extra });
    } catch {
      // A missed sample is a gap in the chart, not a failed bench.
    }
  };
  const timer = setInterval(() => {
    if (!stopped) busy = busy.then(tick);
  }, everyMs);
  return {
    samples,
    startedAt: t0,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await busy;
      await admin.disconnect();
    },
  };
}
