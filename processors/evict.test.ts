import { createRequire } from 'node:module';
import { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KAFKAJS_INTERNALS_VERSION, kafkaInternals, slotKey } from './evict.ts';

const require = createRequire(import.meta.url);

/**
 * The kafkajs internals processors/evict.ts relies on, checked without a broker: this fails
 * when kafkajs is upgraded or changes them (test/integration/failover.test.ts exercises the
 * eviction against a real broker).
 */
describe('kafkajs internals used for evicting a dead member', () => {
  it('are those of the pinned kafkajs version', () => {
    expect((require('kafkajs/package.json') as { version: string }).version).toBe(KAFKAJS_INTERNALS_VERSION);
  });

  it("give a cluster whose coordinator lookup and brokers' leaveGroup exist", () => {
    const kafka = new Kafka({ clientId: 'evict-test', brokers: ['127.0.0.1:1'] });
    const cluster = kafkaInternals(kafka).createCluster({ allowAutoTopicCreation: false });
    expect(typeof cluster.connect).toBe('function');
    expect(typeof cluster.disconnect).toBe('function');
    expect(typeof cluster.findGroupCoordinator).toBe('function');
    const Broker = require('kafkajs/src/broker') as { prototype: Record<string, unknown> };
    expect(typeof Broker.prototype.leaveGroup).toBe('function');
    const leaveGroup = require('kafkajs/src/protocol/requests/leaveGroup') as { versions: string[] };
    expect(leaveGroup.versions).toEqual(['0', '1', '2', '3']);
  });

  it('refuses a client without the internal cluster factory, saying why', () => {
    expect(() => kafkaInternals({} as Kafka)).toThrow(/kafkajs internals changed/);
  });

  it('keeps one slot record per processor slot, under the key prefix', () => {
    expect(slotKey('pp', 'proc-0')).toBe('pp:{proc}:member:proc-0');
    expect(slotKey('pp', 'proc-1')).not.toBe(slotKey('pp', 'proc-0'));
  });
});
