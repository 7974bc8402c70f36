import { describe, expect, it } from 'vitest';
import { loadConfig, withServices, DEV_AUTH_SECRET } from './config.ts';
import { PlayPulseError } from './errors.ts';

function configError(env: Record<string, string>): PlayPulseError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof PlayPulseError) return err;
    throw err;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('gives the CONTRACT defaults and flags dev secrets', () => {
    const c = loadConfig({});
    expect(c.edgePort).toBe(9001);
    expect(c.adminPort).toBe(9002);
    expect(c.healthPort).toBe(9003);
    expect(c.rulesDir).toBe('offers/rules');
    expect(c.kafkaBrokers).toBeNull();
    expect(c.redisUrl).toBeNull();
    expect(c.authSecret).toBe(DEV_AUTH_SECRET);
    expect(c.authSecretIsDev).toBe(true);
    expect(c.adminTokenIsDev).toBe(true);
    expect(c.fulfilmentUrl).toBeNull();
    expect(c.topics.events).toBe('player-events');
    expect(c.edge.maxPayloadBytes).toBe(64 * 1024);
  });

  it('parses every variable it is given', () => {
    const c = loadConfig({
      KAFKA_BROKERS: 'k1:9092, k2:9093',
      REDIS_URL: 'redis://10.0.0.1:6380/2',
      PLAYPULSE_AUTH_SECRET: 'a-secret-of-enough-length',
      PLAYPULSE_ADMIN_TOKEN: 'an-admin-token-long-enough',
      EDGE_PORT: '0',
      PLAYPULSE_FULFILMENT_URL: 'https://shop.example/grant',
      PLAYPULSE_TOPIC_PREFIX: 't1-',
    });
    expect(c.kafkaBrokers).toEqual(['k1:9092', 'k2:9093']);
    expect(c.redisUrl).toBe('redis://10.0.0.1:6380/2');
    expect(c.authSecretIsDev).toBe(false);
    expect(c.edgePort).toBe(0);
    expect(c.fulfilmentUrl).toBe('https://shop.example/grant');
    expect(c.topics.events).toBe('t1-player-events');
    expect(c.topics.deadLetter).toBe('t1-player-events.dlq');
  });

  it.each([
    ['EDGE_PORT', 'abc'],
    ['EDGE_PORT', '70000'],
    ['KAFKA_BROKERS', 'no-port'],
    ['REDIS_URL', 'http://x'],
    ['PLAYPULSE_AUTH_SECRET', 'short'],
    ['PLAYPULSE_FULFILMENT_URL', 'ftp://x'],
    ['PLAYPULSE_LOG_LEVEL', 'loud'],
    ['PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS', 'soon'],
    ['PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS', '2999'],
    ['PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS', '3600000'],
    ['PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS', '-1'],
    ['PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS', '1.5'],
    ['PLAYPULSE_PROCESSOR_SLOT', 'x'.repeat(65)],
    ['PLAYPULSE_PROCESSOR_SLOT', 'a:b'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    const err = configError({ [name]: value });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(name);
  });

  it('checks cross-field limits', () => {
    const err = configError({ PLAYPULSE_INFLIGHT_BYTES_PER_CONN: '1000', PLAYPULSE_INFLIGHT_BYTES_GLOBAL: '10' });
    expect(err.message).toContain('PLAYPULSE_INFLIGHT_BYTES_PER_CONN');
  });

  it('gives the processors a short session and a frequent heartbeat, both settable', () => {
    const d = loadConfig({});
    expect(d.processors).toEqual({ sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000, slot: null });
    const c = loadConfig({ PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS: '10000', PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS: '2000' });
    expect(c.processors).toEqual({ sessionTimeoutMs: 10_000, heartbeatIntervalMs: 2_000, slot: null });
  });

  it('takes the processor slot from PLAYPULSE_PROCESSOR_SLOT, else an explicit instance id, never a generated one', () => {
    expect(loadConfig({ PLAYPULSE_PROCESSOR_SLOT: 'proc-0' }).processors.slot).toBe('proc-0');
    expect(loadConfig({ PLAYPULSE_PROCESSOR_SLOT: 'proc-0', PLAYPULSE_INSTANCE_ID: 'pod-7' }).processors.slot).toBe('proc-0');
    expect(loadConfig({ PLAYPULSE_INSTANCE_ID: 'pod-7' }).processors.slot).toBe('pod-7');
    const generated = loadConfig({});
    expect(generated.instanceId).not.toBe('');
    expect(generated.processors.slot).toBeNull();
  });

  it('refuses a heartbeat interval above a third of the session timeout, naming both', () => {
    const err = configError({ PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS: '6000', PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS: '2500' });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS=2500');
    expect(err.message).toContain('PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS=6000');
    expect(loadConfig({ PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS: '6000', PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS: '2000' }).processors.heartbeatIntervalMs).toBe(2_000);
  });

  it('is frozen, and withServices fills addresses into a new frozen object', () => {
    const c = loadConfig({});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.edge)).toBe(true);
    expect(Object.isFrozen(c.processors)).toBe(true);
    const d = withServices(c, { kafkaBrokers: ['127.0.0.1:9092'], redisUrl: 'redis://127.0.0.1:6379' });
    expect(d.kafkaBrokers).toEqual(['127.0.0.1:9092']);
    expect(c.kafkaBrokers).toBeNull();
    expect(Object.isFrozen(d)).toBe(true);
  });
});
