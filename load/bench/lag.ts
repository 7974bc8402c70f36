/**
 * Consumer lag and consumption rate of the groups reading one topic, sampled from Kafka
 * itself (end offsets minus committed offsets), so the figure does not depend on what the
 * consumers report about themselves.
 */
import type { Admin } from 'kafkajs';
import { createKafka } from '../../lib/kafka.ts';

export interface LagSample {
  /** ms since the sampler started. */
  readonly atMs: number;
  readonly endOffset: number;
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

export async function startLagSampler(brokers: readonly string[], topic: string, everyMs: number): Promise<LagSampler> {
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
      samples.push(await sampleOnce(admin, topic, groups, t0));
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
