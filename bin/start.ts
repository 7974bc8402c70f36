/**
 * `npm start [-- --role edge|processors|offers[,…]]`
 *
 * Without --role: resolves the local stack (finds Kafka and Redis or starts them), then runs
 * two child processes — the edge, and processors+offers — and restarts a child that dies.
 * Ctrl-C stops the children, then what the stack started. With --role: runs those roles
 * in this process against the configured (or default local) addresses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig, withServices, type Config } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { isPlayPulseError } from '../lib/errors.ts';
import { installSignalHandlers, onShutdown, shutdown } from '../lib/shutdown.ts';
import { resolveStack } from '../infra/stack.ts';
import { nodeFlagsFor } from './node-flags.ts';
import { parseRoles, runRoles, type Role } from './roles.ts';
import { sleep } from '../lib/time.ts';

const log = createLogger('start');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { role: { type: 'string' }, supervised: { type: 'boolean', default: false } }, allowPositionals: false });
  const config = loadConfig();
  if (values.supervised) {
    installSignalHandlers(['SIGTERM']);
    process.once('disconnect', () => void shutdown('supervisor exited').then(() => process.exit(0)));
  } else {
    warnAboutDevSecrets(config);
    installSignalHandlers();
  }

  if (values.role !== undefined) {
    const roles = parseRoles(values.role);
    const stack = await resolveStack(config);
    onShutdown('stack', () => stack.stop());
    await runRoles(roles, withServices(config, stack));
    return;
  }

  const stack = await resolveStack(config);
  onShutdown('stack', () => stack.stop());
  const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_BROKERS: stack.kafkaBrokers.join(','), REDIS_URL: stack.redisUrl };
  if (config.metricsPort !== null) {
    // Two children cannot share one port: each serves /metrics with its health routes instead.
    delete env.PLAYPULSE_METRICS_PORT;
    log.warn('PLAYPULSE_METRICS_PORT is for one role per process (--role); npm start serves /metrics on EDGE_PORT and HEALTH_PORT as usual');
  }
  // The processors child keeps one slot across its restarts, so a restarted child evicts its
  // killed predecessor from the consumer group instead of waiting its session (docs/operations.md "Failover").
  const processorsEnv = { ...env, PLAYPULSE_PROCESSOR_SLOT: config.processors.slot ?? `${config.instanceId}-processors` };
  const children = [superviseChild(['edge'], env), superviseChild(['processors', 'offers'], processorsEnv)];
  onShutdown('children', () => Promise.all(children.map((c) => c.stop())).then(() => undefined));
  log.info(
    {
      kafka: stack.kafkaBrokers.join(','),
      kafkaVersion: stack.kafkaVersion,
      redis: stack.redisUrl,
      websocket: `ws://127.0.0.1:${config.edgePort}/v1/play`,
      admin: `http://127.0.0.1:${config.adminPort}/`,
      health: [`http://127.0.0.1:${config.edgePort}/readyz`, `http://127.0.0.1:${config.healthPort}/readyz`],
    },
    'PlayPulse is starting: edge and processors+offers run as child processes (Ctrl-C stops everything)',
  );
  await announceWhenReady(config);
}

/** Prints one plain banner once both children answer /readyz (or a warning after two minutes). */
async function announceWhenReady(config: Config): Promise<void> {
  const urls = [`http://127.0.0.1:${config.edgePort}/readyz`, `http://127.0.0.1:${config.healthPort}/readyz`];
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const ready = await Promise.all(urls.map((u) => fetch(u, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false)));
    if (ready.every(Boolean)) {
      process.stdout.write(
        [
          '',
          'PlayPulse is ready.',
          `  game clients   ws://127.0.0.1:${config.edgePort}/v1/play?token=<npm run token -- <playerId>>`,
          `  console, admin http://127.0.0.1:${config.adminPort}/  (bearer: PLAYPULSE_ADMIN_TOKEN${config.adminTokenIsDev ? ', dev default' : ''})`,
          `  health         ${urls.join('  ')}`,
          '  Ctrl-C stops everything.',
          '',
        ].join('\n'),
      );
      return;
    }
    await sleep(500);
  }
  log.warn({ urls }, 'PlayPulse is not ready after two minutes; see the log above');
}

interface Supervised {
  stop(): Promise<void>;
}

const START_SCRIPT = fileURLToPath(import.meta.url);
const MAX_RESTARTS_PER_MINUTE = 5;

/**
 * How long to wait before restarting a child that died, given its deaths in the last minute
 * (this one included): the first is restarted at once — every second spent here is a second
 * its partitions and players wait — then 0.5 s, 1 s, 2 s, 4 s, so a child that dies on
 * start does not spin.
 */
function restartDelayMs(deathsInLastMinute: number): number {
  return deathsInLastMinute <= 1 ? 0 : Math.min(500 * 2 ** (deathsInLastMinute - 2), 5_000);
}

/** Runs `start.ts --role <roles>` as a child; restarts it when it dies, gives up after 5 deaths a minute. */
function superviseChild(roles: Role[], env: NodeJS.ProcessEnv): Supervised {
  let child: ChildProcess | null = null;
  let stopping = false;
  const deaths: number[] = [];
  const name = roles.join(',');

  const launch = () => {
    // The IPC channel is the child's lifeline: it drains and exits when the supervisor dies.
    child = spawn(process.execPath, [...nodeFlagsFor(roles), '--import', 'tsx', START_SCRIPT, '--role', name, '--supervised'], {
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('exit', (code, signal) => {
      child = null;
      if (stopping) return;
      const now = Date.now();
      deaths.push(now);
      while (deaths.length > 0 && (deaths[0] ?? now) < now - 60_000) deaths.shift();
      if (deaths.length > MAX_RESTARTS_PER_MINUTE) {
        log.fatal({ roles: name, code, signal }, 'role keeps dying; stopping PlayPulse');
        void shutdown('child failed').then(() => process.exit(1));
        return;
      }
      const delayMs = restartDelayMs(deaths.length);
      log.error({ roles: name, code, signal, delayMs }, 'role exited unexpectedly; restarting it');
      setTimeout(() => {
        if (!stopping) launch();
      }, delayMs).unref();
    });
  };
  launch();

  return {
    stop: () =>
      new Promise<void>((resolve) => {
        stopping = true;
        const c = child;
        if (!c) return resolve();
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      }),
  };
}

/** Outside production mode only: production mode refuses the dev secrets at load (lib/config.ts). */
function warnAboutDevSecrets(config: Config): void {
  if (config.authSecretIsDev) {
    log.warn('PLAYPULSE_AUTH_SECRET is not set: using the fixed DEV secret. Anyone can sign player tokens. Never run a live game like this (PLAYPULSE_ENV=production refuses it).');
  }
  if (config.adminTokenIsDev) {
    log.warn('PLAYPULSE_ADMIN_TOKEN is not set: using the fixed DEV admin token. Anyone can publish rules. Never run a live game like this (PLAYPULSE_ENV=production refuses it).');
  }
}

main().catch((err: unknown) => {
  if (isPlayPulseError(err)) {
    log.fatal({ code: err.code }, err.message);
    process.stderr.write(`\nplaypulse: ${err.message}\n`);
  } else {
    log.fatal({ err }, 'start-up failed');
  }
  void shutdown('start-up failed').then(() => process.exit(1));
});

