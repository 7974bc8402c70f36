import { createRequire } from 'node:module';
import fc from 'fast-check';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KeyPartitioner, kafkaChecksum, keyPartition, murmur2 } from './kafka.ts';

const require = createRequire(import.meta.url);
// kafkajs' own murmur2 (64-bit Long arithmetic), the reference the 32-bit one must equal.
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer | string) => number;

const metadata = (n: number): PartitionMetadata[] => Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));

describe('murmur2', () => {
  it('equals the Java client hash of known keys', () => {
    // Values of org.apache.kafka.common.utils.Utils.murmur2 (its test suite's vectors).
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from([0x61, 0x62, 0x63]))).toBe(479470107);
  });

  it("equals kafkajs' murmur2 for any string and any bytes, ASCII or not, of any length", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 120 }), fc.string({ unit: 'binary', maxLength: 40 })), (s) => {
        expect(murmur2(s)).toBe(kafkajsMurmur2(s));
      }),
      { numRuns: 3_000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const b = Buffer.from(bytes);
        expect(murmur2(b)).toBe(kafkajsMurmur2(b));
      }),
      { numRuns: 3_000 },
    );
  });
});

describe('KeyPartitioner', () => {
  it("puts a keyed record where kafkajs' default partitioner does, and keeps a record's own partition", () => {
    const ours = KeyPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }), fc.integer({ min: 1, max: 64 }), (key, n) => {
        const args = { topic: 't', partitionMetadata: metadata(n), message: { key, value: null } };
        const p = ours(args);
        expect(p).toBe(theirs(args));
        expect(p).toBe(keyPartition(key, n));
        expect(ours({ ...args, message: { key, value: null, partition: n - 1 } })).toBe(n - 1);
      }),
      { numRuns: 2_000 },
    );
  });

  it('spreads keyless records over the partitions', () => {
    const ours = KeyPartitioner();
    const seen = new Set<number>();
    for (let i = 0; i < 60; i += 1) seen.add(ours({ topic: 't', partitionMetadata: metadata(6), message: { key: null, value: 'v' } }));
    expect(seen.size).toBe(6);
  });
});

describe('the record batch checksum', () => {
  // kafkajs' own CRC-32C in JavaScript (signed), and the module its record batch encoder reads.
  const javascriptCrc = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;
  const encoderCrc = () => require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;

  it('is the native one here, and the encoder reads it', () => {
    // The prebuilt @node-rs/crc32 exists for this platform (linux x64); elsewhere kafkajs' own stays.
    expect(kafkaChecksum).toBe('native');
    const { crc32c } = require('@node-rs/crc32') as { crc32c: (b: Uint8Array) => number };
    const probe = Buffer.from('123456789');
    expect(encoderCrc()(probe)).toBe(crc32c(probe));
    // CRC-32C's check value (RFC 3720, Castagnoli).
    expect(encoderCrc()(probe)).toBe(0xe3069283);
  });

  it("equals kafkajs' JavaScript checksum, as an unsigned number, for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5_000 }), (bytes) => {
        const b = Buffer.from(bytes);
        expect(encoderCrc()(b)).toBe(javascriptCrc(b) >>> 0);
      }),
      { numRuns: 2_000 },
    );
  });
});
