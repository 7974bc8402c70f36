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
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    const err = configError({ [name]: value });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(name);
  });

  it('checks cross-field limits', () => {
    const err = configError({ PLAYPULSE_INFLIGHT_BYTES_PER_CONN: '1000', PLAYPULSE_INFLIGHT_BYTES_GLOBAL: '10' });
    expect(err.message).toContain('PLAYPULSE_INFLIGHT_BYTES_PER_CONN');
  });

  it('is frozen, and withServices fills addresses into a new frozen object', () => {
    const c = loadConfig({});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.edge)).toBe(true);
    const d = withServices(c, { kafkaBrokers: ['127.0.0.1:9092'], redisUrl: 'redis://127.0.0.1:6379' });
    expect(d.kafkaBrokers).toEqual(['127.0.0.1:9092']);
    expect(c.kafkaBrokers).toBeNull();
    expect(Object.isFrozen(d)).toBe(true);
  });
});
