import { describe, expect, it } from 'vitest';
import { loadConfig, withServices, DEV_ADMIN_TOKEN, DEV_AUTH_SECRET } from './config.ts';
import { PlayPulseError } from './errors.ts';

function configError(env: Record<string, string | undefined>): PlayPulseError {
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
    ['PLAYPULSE_FAILPOINT', 'after-decide'],
    ['PLAYPULSE_FAILPOINT', 'after-decide:0'],
    ['PLAYPULSE_FAILPOINT', 'after-decide:-1'],
    ['PLAYPULSE_FAILPOINT', 'after-decide:1.5'],
    ['PLAYPULSE_FAILPOINT', 'after-decide:1000000'],
    ['PLAYPULSE_FAILPOINT', 'after-decide:01'],
    ['PLAYPULSE_FAILPOINT', 'AFTER-DECIDE:1'],
    ['PLAYPULSE_FAILPOINT', 'before-commit:1'],
    ['PLAYPULSE_FAILPOINT', ' after-apply:1'],
    ['PLAYPULSE_FAILPOINT', 'after-apply:1,after-decide:2'],
    ['PLAYPULSE_FAILPOINT', 'after-claim:1:pause'],
    ['PLAYPULSE_FAILPOINT', 'after-claim:1:'],
    ['PLAYPULSE_FAILPOINT', 'after-claim:1:STOP'],
    ['PLAYPULSE_FAILPOINT', 'after-claim:stop'],
    ['PLAYPULSE_FAILPOINT', 'after-claim:1:stop:stop'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://collector:4317'],
    ['PLAYPULSE_TRACE_SAMPLE_RATE', '1.5'],
    ['PLAYPULSE_TRACE_SAMPLE_RATE', '-0.1'],
    ['PLAYPULSE_TRACE_SAMPLE_RATE', 'often'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    const err = configError({ [name]: value });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(name);
  });

  it('reads PLAYPULSE_AUTH_SECRETS as kid:secret keys, the current first, with the optional audience and issuer', () => {
    const c = loadConfig({
      PLAYPULSE_AUTH_SECRETS: ' 2026-12:new-secret-0123456789 , 2026-11:old:secret-0123456789 ',
      PLAYPULSE_AUTH_AUDIENCE: 'game-x',
      PLAYPULSE_AUTH_ISSUER: 'https://auth.studio.example',
    });
    expect(c.auth).toEqual({
      keys: [
        { kid: '2026-12', secret: 'new-secret-0123456789' },
        { kid: '2026-11', secret: 'old:secret-0123456789' },
      ],
      audience: 'game-x',
      issuer: 'https://auth.studio.example',
    });
    expect(c.authSecret).toBe('new-secret-0123456789');
    expect(c.authSecretIsDev).toBe(false);
    expect(loadConfig({ PLAYPULSE_AUTH_SECRET: 'a-secret-of-enough-length' }).auth).toEqual({
      keys: [{ kid: null, secret: 'a-secret-of-enough-length' }],
      audience: null,
      issuer: null,
    });
  });

  it.each([
    ['no kid', 'just-a-secret-long-enough'],
    ['an empty kid', ':a-secret-long-enough-0123'],
    ['a bad kid', 'a/b:a-secret-long-enough-0123'],
    ['a short secret', 'k1:short'],
    ['a kid twice', 'k1:a-secret-long-enough-0123,k1:another-secret-long-enough'],
    ['too many keys', 'k1:secret-long-enough-01,k2:secret-long-enough-02,k3:secret-long-enough-03,k4:secret-long-enough-04,k5:secret-long-enough-05'],
  ])('refuses PLAYPULSE_AUTH_SECRETS with %s, naming it and never showing the secret', (_what, value) => {
    const err = configError({ PLAYPULSE_AUTH_SECRETS: value });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('PLAYPULSE_AUTH_SECRETS');
    expect(err.message).not.toContain('secret-long-enough');
  });

  it('refuses PLAYPULSE_AUTH_SECRET and PLAYPULSE_AUTH_SECRETS together', () => {
    const err = configError({ PLAYPULSE_AUTH_SECRET: 'a-secret-of-enough-length', PLAYPULSE_AUTH_SECRETS: 'k1:another-secret-of-enough-length' });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/PLAYPULSE_AUTH_SECRET and PLAYPULSE_AUTH_SECRETS/);
  });

  it.each([['PLAYPULSE_AUTH_AUDIENCE'], ['PLAYPULSE_AUTH_ISSUER']])('refuses %s with a space', (name) => {
    const err = configError({ [name]: 'a b' });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(name);
  });

  it('never shows a secret value in an error', () => {
    const err = configError({ PLAYPULSE_AUTH_SECRET: 'short!', PLAYPULSE_ADMIN_TOKEN: 'tiny!' });
    expect(err.message).toContain('PLAYPULSE_AUTH_SECRET');
    expect(err.message).toContain('PLAYPULSE_ADMIN_TOKEN');
    expect(err.message).not.toContain('short!');
    expect(err.message).not.toContain('tiny!');
  });

  it('checks cross-field limits', () => {
    const err = configError({ PLAYPULSE_INFLIGHT_BYTES_PER_CONN: '1000', PLAYPULSE_INFLIGHT_BYTES_GLOBAL: '10' });
    expect(err.message).toContain('PLAYPULSE_INFLIGHT_BYTES_PER_CONN');
  });

  it('gives the processors a short session and a frequent heartbeat, both settable', () => {
    const d = loadConfig({});
    expect(d.processors).toEqual({ sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000, slot: null, failPoint: null });
    const c = loadConfig({ PLAYPULSE_PROCESSORS_SESSION_TIMEOUT_MS: '10000', PLAYPULSE_PROCESSORS_HEARTBEAT_INTERVAL_MS: '2000' });
    expect(c.processors).toEqual({ sessionTimeoutMs: 10_000, heartbeatIntervalMs: 2_000, slot: null, failPoint: null });
  });

  it('takes the processor slot from PLAYPULSE_PROCESSOR_SLOT, else an explicit instance id, never a generated one', () => {
    expect(loadConfig({ PLAYPULSE_PROCESSOR_SLOT: 'proc-0' }).processors.slot).toBe('proc-0');
    expect(loadConfig({ PLAYPULSE_PROCESSOR_SLOT: 'proc-0', PLAYPULSE_INSTANCE_ID: 'pod-7' }).processors.slot).toBe('proc-0');
    expect(loadConfig({ PLAYPULSE_INSTANCE_ID: 'pod-7' }).processors.slot).toBe('pod-7');
    const generated = loadConfig({});
    expect(generated.instanceId).not.toBe('');
    expect(generated.processors.slot).toBeNull();
  });

  it('reads the test-only fail point PLAYPULSE_FAILPOINT, off unless set', () => {
    expect(loadConfig({}).processors.failPoint).toBeNull();
    expect(loadConfig({ PLAYPULSE_FAILPOINT: '' }).processors.failPoint).toBeNull();
    expect(loadConfig({ PLAYPULSE_FAILPOINT: 'after-decide:1' }).processors.failPoint).toEqual({ step: 'after-decide', chunk: 1, action: 'kill' });
    expect(loadConfig({ PLAYPULSE_FAILPOINT: 'after-apply:250' }).processors.failPoint).toEqual({ step: 'after-apply', chunk: 250, action: 'kill' });
    expect(loadConfig({ PLAYPULSE_FAILPOINT: 'after-record:2' }).processors.failPoint).toEqual({ step: 'after-record', chunk: 2, action: 'kill' });
    expect(loadConfig({ PLAYPULSE_FAILPOINT: 'after-claim:1' }).processors.failPoint).toEqual({ step: 'after-claim', chunk: 1, action: 'kill' });
    expect(loadConfig({ PLAYPULSE_FAILPOINT: 'after-claim:3:stop' }).processors.failPoint).toEqual({ step: 'after-claim', chunk: 3, action: 'stop' });
    expect(loadConfig({ PLAYPULSE_FAILPOINT: 'after-apply:1:stop' }).processors.failPoint).toEqual({ step: 'after-apply', chunk: 1, action: 'stop' });
  });

  it('keeps tracing off unless OTEL_EXPORTER_OTLP_ENDPOINT is set, sampling 1% of frames by default', () => {
    expect(loadConfig({}).tracing).toEqual({ endpoint: null, sampleRate: 0.01 });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', PLAYPULSE_TRACE_SAMPLE_RATE: '0.25' }).tracing).toEqual({
      endpoint: 'http://collector:4318',
      sampleRate: 0.25,
    });
    expect(loadConfig({ PLAYPULSE_TRACE_SAMPLE_RATE: '0' }).tracing.sampleRate).toBe(0);
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

  describe('production mode', () => {
    const STRONG = 's'.repeat(32);
    const ADMIN = 'a'.repeat(32);
    const safe = { PLAYPULSE_ENV: 'production', PLAYPULSE_AUTH_SECRET: STRONG, PLAYPULSE_ADMIN_TOKEN: ADMIN };

    it('refuses the test-only fail point with CONFIG_INVALID, naming it', () => {
      for (const env of [{ ...safe, PLAYPULSE_FAILPOINT: 'after-decide:1' }, { ...safe, PLAYPULSE_FAILPOINT: 'after-claim:1:stop' }, { ...safe, PLAYPULSE_ENV: undefined, NODE_ENV: 'production', PLAYPULSE_FAILPOINT: 'after-apply:3' }]) {
        const err = configError(env);
        expect(err.code).toBe('CONFIG_INVALID');
        expect(err.message).toContain('PLAYPULSE_FAILPOINT');
        expect(err.message).toContain('production mode');
      }
      expect(loadConfig({ ...safe, PLAYPULSE_ENV: 'development', PLAYPULSE_FAILPOINT: 'after-decide:1' }).processors.failPoint).toEqual({ step: 'after-decide', chunk: 1, action: 'kill' });
    });

    it('is on with PLAYPULSE_ENV=production, or NODE_ENV=production unless PLAYPULSE_ENV says development', () => {
      expect(loadConfig(safe).production).toBe(true);
      expect(loadConfig({ ...safe, PLAYPULSE_ENV: undefined, NODE_ENV: 'production' }).production).toBe(true);
      expect(loadConfig({ NODE_ENV: 'production', PLAYPULSE_ENV: 'development' }).production).toBe(false);
      expect(loadConfig({ NODE_ENV: 'test' }).production).toBe(false);
      expect(loadConfig({}).production).toBe(false);
    });

    it('accepts its own secrets of 32 bytes, and rotation keys of 32 bytes each', () => {
      const c = loadConfig(safe);
      expect(c.authSecret).toBe(STRONG);
      expect(c.authSecretIsDev || c.adminTokenIsDev).toBe(false);
      const keys = loadConfig({ ...safe, PLAYPULSE_AUTH_SECRET: undefined, PLAYPULSE_AUTH_SECRETS: `new:${STRONG},old:${'o'.repeat(32)}` });
      expect(keys.auth.keys.map((k) => k.kid)).toEqual(['new', 'old']);
      // Bytes are counted, not characters: 16 characters of 3 bytes each are enough.
      expect(loadConfig({ ...safe, PLAYPULSE_ADMIN_TOKEN: '€'.repeat(16) }).production).toBe(true);
    });

    it.each([
      ['PLAYPULSE_ENV=production', { PLAYPULSE_ENV: 'production' }],
      ['NODE_ENV=production', { NODE_ENV: 'production' }],
    ])('with %s, refuses to start on the defaults, naming both variables and the reason', (_what, mode) => {
      const err = configError(mode);
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.message).toMatch(/PLAYPULSE_AUTH_SECRET .*is not set/);
      expect(err.message).toMatch(/PLAYPULSE_ADMIN_TOKEN is not set/);
      expect(err.message).toContain(_what);
    });

    it.each([
      ['the dev player secret', { PLAYPULSE_AUTH_SECRET: DEV_AUTH_SECRET }, /PLAYPULSE_AUTH_SECRET is the dev default/],
      ['a player secret under 32 bytes', { PLAYPULSE_AUTH_SECRET: 's'.repeat(31) }, /PLAYPULSE_AUTH_SECRET is 31 bytes/],
      ['no admin token', { PLAYPULSE_ADMIN_TOKEN: undefined }, /PLAYPULSE_ADMIN_TOKEN is not set/],
      ['the dev admin token', { PLAYPULSE_ADMIN_TOKEN: DEV_ADMIN_TOKEN }, /PLAYPULSE_ADMIN_TOKEN is the dev default/],
      ['an admin token under 32 bytes', { PLAYPULSE_ADMIN_TOKEN: 'a'.repeat(31) }, /PLAYPULSE_ADMIN_TOKEN is 31 bytes/],
      ['a short current rotation key', { PLAYPULSE_AUTH_SECRET: undefined, PLAYPULSE_AUTH_SECRETS: `new:${'n'.repeat(31)},old:${'o'.repeat(32)}` }, /PLAYPULSE_AUTH_SECRETS \(kid "new"\) is 31 bytes/],
      ['a short previous rotation key', { PLAYPULSE_AUTH_SECRET: undefined, PLAYPULSE_AUTH_SECRETS: `new:${'n'.repeat(32)},old:${'o'.repeat(20)}` }, /PLAYPULSE_AUTH_SECRETS \(kid "old"\) is 20 bytes/],
      ['the dev secret as a rotation key', { PLAYPULSE_AUTH_SECRET: undefined, PLAYPULSE_AUTH_SECRETS: `new:${'n'.repeat(32)},old:${DEV_AUTH_SECRET}` }, /PLAYPULSE_AUTH_SECRETS \(kid "old"\) is the dev default/],
    ])('refuses %s', (_what, change, reason) => {
      const err = configError({ ...safe, ...change });
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.message).toMatch(reason);
      expect(err.message).not.toContain('s'.repeat(31));
    });

    it('outside production keeps the dev defaults and 16-character secrets, flagged', () => {
      const c = loadConfig({ PLAYPULSE_AUTH_SECRET: 's'.repeat(16), PLAYPULSE_ADMIN_TOKEN: DEV_ADMIN_TOKEN });
      expect(c.production).toBe(false);
      expect(c.authSecretIsDev).toBe(false);
      expect(c.adminTokenIsDev).toBe(true);
      expect(loadConfig({ PLAYPULSE_AUTH_SECRET: DEV_AUTH_SECRET }).authSecretIsDev).toBe(true);
    });

    it('refuses an unknown PLAYPULSE_ENV', () => {
      const err = configError({ PLAYPULSE_ENV: 'prod' });
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.message).toContain('PLAYPULSE_ENV');
    });
  });
});

describe('admin access', () => {
  const T = (c: string) => c.repeat(32);

  it('keeps PLAYPULSE_ADMIN_TOKEN as the publisher `admin`, and adds the named tokens of PLAYPULSE_ADMIN_TOKENS', () => {
    expect(loadConfig({}).admin.tokens).toEqual([{ name: 'admin', role: 'publisher', token: DEV_ADMIN_TOKEN }]);
    const c = loadConfig({ PLAYPULSE_ADMIN_TOKEN: T('a'), PLAYPULSE_ADMIN_TOKENS: ` vera:viewer:${T('v')} , eddie:editor:${T('e')},pia:publisher:${T('p')}:with:colons` });
    expect(c.admin.tokens).toEqual([
      { name: 'admin', role: 'publisher', token: T('a') },
      { name: 'vera', role: 'viewer', token: T('v') },
      { name: 'eddie', role: 'editor', token: T('e') },
      { name: 'pia', role: 'publisher', token: `${T('p')}:with:colons` },
    ]);
    expect(c.adminToken).toBe(T('a'));
    // Named tokens alone: no dev token is accepted.
    const named = loadConfig({ PLAYPULSE_ADMIN_TOKENS: `vera:viewer:${T('v')}` });
    expect(named.admin.tokens).toEqual([{ name: 'vera', role: 'viewer', token: T('v') }]);
    expect(named.adminTokenIsDev).toBe(false);
  });

  it('defaults to binding 0.0.0.0, 20 requests a second in bursts of 100, /metrics with the health routes', () => {
    const c = loadConfig({});
    expect(c.admin).toMatchObject({ host: '0.0.0.0', ratePerSec: 20, rateBurst: 100 });
    expect(c.metricsPort).toBeNull();
    const d = loadConfig({ PLAYPULSE_ADMIN_HOST: '127.0.0.1', PLAYPULSE_ADMIN_RATE_PER_SEC: '0', PLAYPULSE_METRICS_PORT: '9100' });
    expect(d.admin).toMatchObject({ host: '127.0.0.1', ratePerSec: 0 });
    expect(d.metricsPort).toBe(9100);
    expect(loadConfig({ PLAYPULSE_ADMIN_HOST: '::1' }).admin.host).toBe('::1');
    expect(loadConfig({ PLAYPULSE_ADMIN_HOST: 'admin.internal' }).admin.host).toBe('admin.internal');
  });

  it.each([
    ['no role', `vera:${T('v')}`, /entry 1: every entry must be name:role:token/],
    ['an unknown role', `vera:owner:${T('v')}`, /entry 1: the role of "vera" must be one of viewer, editor, publisher/],
    ['a bad name', `ve ra:viewer:${T('v')}`, /entry 1: the name must be/],
    ['a short token', `vera:viewer:${T('v')},eddie:editor:short`, /entry 2: the token of "eddie" must be at least 16 characters/],
    ['a name twice', `vera:viewer:${T('v')},vera:editor:${T('e')}`, /entry 2: the name "vera" is listed twice/],
    ['nothing', ',,', /expected at least one name:role:token entry/],
  ])('refuses PLAYPULSE_ADMIN_TOKENS with %s, never showing a token', (_what, value, reason) => {
    const err = configError({ PLAYPULSE_ADMIN_TOKENS: value });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('PLAYPULSE_ADMIN_TOKENS');
    expect(err.message).toMatch(reason);
    expect(err.message).not.toContain(T('v'));
  });

  it('refuses a token given twice, the name `admin` beside PLAYPULSE_ADMIN_TOKEN, and a metrics port shared with another', () => {
    const twice = configError({ PLAYPULSE_ADMIN_TOKEN: T('a'), PLAYPULSE_ADMIN_TOKENS: `vera:viewer:${T('a')}` });
    expect(twice.message).toMatch(/gives "vera" the same token as "admin"/);
    expect(twice.message).not.toContain(T('a'));
    expect(configError({ PLAYPULSE_ADMIN_TOKENS: `vera:viewer:${T('v')},eddie:editor:${T('v')}` }).message).toMatch(/"eddie" the same token as "vera"/);
    expect(configError({ PLAYPULSE_ADMIN_TOKEN: T('a'), PLAYPULSE_ADMIN_TOKENS: `admin:viewer:${T('v')}` }).message).toMatch(/names "admin"/);
    expect(loadConfig({ PLAYPULSE_ADMIN_TOKENS: `admin:viewer:${T('v')}` }).admin.tokens).toEqual([{ name: 'admin', role: 'viewer', token: T('v') }]);
    expect(configError({ PLAYPULSE_METRICS_PORT: '9003' }).message).toMatch(/PLAYPULSE_METRICS_PORT=9003 is also HEALTH_PORT/);
    expect(configError({ PLAYPULSE_ADMIN_HOST: 'not a host!' }).message).toMatch(/PLAYPULSE_ADMIN_HOST="not a host!": expected an IP address/);
    expect(configError({ PLAYPULSE_ADMIN_RATE_BURST: '0' }).message).toContain('PLAYPULSE_ADMIN_RATE_BURST');
  });

  describe('in production mode', () => {
    const safe = { PLAYPULSE_ENV: 'production', PLAYPULSE_AUTH_SECRET: T('s') };

    it('accepts named tokens of 32 bytes without PLAYPULSE_ADMIN_TOKEN', () => {
      const c = loadConfig({ ...safe, PLAYPULSE_ADMIN_TOKENS: `vera:viewer:${T('v')},pia:publisher:${T('p')}` });
      expect(c.admin.tokens.map((t) => t.name)).toEqual(['vera', 'pia']);
    });

    it.each([
      ['a named token under 32 bytes', { PLAYPULSE_ADMIN_TOKENS: `vera:viewer:${T('v')},eddie:editor:${'e'.repeat(31)}` }, /PLAYPULSE_ADMIN_TOKENS \(token of "eddie"\) is 31 bytes/],
      ['the dev token as a named token', { PLAYPULSE_ADMIN_TOKENS: `vera:viewer:${DEV_ADMIN_TOKEN}` }, /PLAYPULSE_ADMIN_TOKENS \(token of "vera"\) is the dev default/],
      ['a short PLAYPULSE_ADMIN_TOKEN beside named ones', { PLAYPULSE_ADMIN_TOKEN: 'a'.repeat(20), PLAYPULSE_ADMIN_TOKENS: `vera:viewer:${T('v')}` }, /PLAYPULSE_ADMIN_TOKEN is 20 bytes/],
      ['no admin token at all', {}, /PLAYPULSE_ADMIN_TOKEN is not set \(nor PLAYPULSE_ADMIN_TOKENS\)/],
    ])('refuses %s', (_what, change, reason) => {
      const err = configError({ ...safe, ...change });
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.message).toMatch(reason);
      expect(err.message).not.toContain('e'.repeat(31));
    });
  });
});
