import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlayPulseError } from '../lib/errors.ts';
import { createLogger } from '../lib/log.ts';
import { findOnPath } from './tools.ts';

const log = createLogger('stack');

/**
 * The Apache Kafka version of the local broker. kafkajs 2.2.4 was checked against it
 * (docs/stack.md): admin, idempotent producer with acks -1, consumer groups with
 * eachBatch, offset commits and rebalances.
 */
export const KAFKA_VERSION = '4.4.0';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const POM = join(REPO_ROOT, 'infra', 'kafka', 'pom.xml');
const MAVEN_TIMEOUT_MS = 10 * 60_000;

/** `.cache/kafka/<version>` (git-ignored): `libs/` holds the jars once `libs/.complete` exists. */
export function kafkaCacheDir(version: string = KAFKA_VERSION): string {
  return join(REPO_ROOT, '.cache', 'kafka', version);
}

export function kafkaLibsDir(version: string = KAFKA_VERSION): string {
  return join(kafkaCacheDir(version), 'libs');
}

export function hasKafkaJars(version: string = KAFKA_VERSION): boolean {
  return existsSync(join(kafkaLibsDir(version), '.complete'));
}

/**
 * Returns the folder of the broker jars, fetching them with Maven from Maven Central the
 * first time (`mvn dependency:copy-dependencies` on infra/kafka/pom.xml). Concurrent
 * callers are safe: each fetches into its own folder and the first complete one is renamed
 * into place. Throws STACK_MISSING_TOOL when the jars are not cached and `mvn` is missing.
 */
export async function ensureKafkaJars(version: string = KAFKA_VERSION): Promise<string> {
  const libs = kafkaLibsDir(version);
  if (hasKafkaJars(version)) return libs;
  const mvn = findOnPath('mvn');
  if (!mvn) {
    throw new PlayPulseError(
      'STACK_MISSING_TOOL',
      `the Kafka ${version} jars are not cached in ${libs} and mvn is not on PATH: install Maven (e.g. apt-get install maven) ` +
        'so they can be fetched once from Maven Central, or set KAFKA_BROKERS to a running broker (infra/docker-compose.yml starts one with Docker)',
      { tool: 'mvn' },
    );
  }
  const t0 = Date.now();
  mkdirSync(kafkaCacheDir(version), { recursive: true });
  const staging = join(kafkaCacheDir(version), `libs.fetching-${process.pid}-${Date.now()}`);
  log.info({ version, mvn }, 'fetching the Kafka broker jars with Maven (once; cached in .cache/kafka)');
  try {
    await runMaven(mvn, ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-Dkafka.version=${version}`, `-DoutputDirectory=${staging}`]);
    const jars = readdirSync(staging).filter((f) => f.endsWith('.jar'));
    if (!jars.some((j) => j.startsWith('kafka_2.13-'))) {
      throw new PlayPulseError('STACK_UNAVAILABLE', `Maven finished but ${staging} holds no kafka_2.13 jar`);
    }
    writeFileSync(join(staging, '.complete'), `${jars.sort().join('\n')}\n`);
    if (!hasKafkaJars(version)) {
      rmSync(libs, { recursive: true, force: true });
      try {
        renameSync(staging, libs);
      } catch (err) {
        if (!hasKafkaJars(version)) throw err;
      }
    }
    log.info({ version, libs, jars: jars.length, ms: Date.now() - t0 }, 'Kafka broker jars cached');
    return libs;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function runMaven(mvn: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(mvn, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), MAVEN_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new PlayPulseError('STACK_UNAVAILABLE', `could not run ${mvn}: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const tail = mavenErrors(output);
      reject(
        new PlayPulseError(
          'STACK_UNAVAILABLE',
          `fetching the Kafka jars from Maven Central failed (mvn ${code !== null ? `exit ${code}` : signal}); is Maven Central reachable?\n${tail}`,
        ),
      );
    });
  });
}

/** The [ERROR] lines of Maven output that say what went wrong, without its generic advice. */
export function mavenErrors(output: string): string {
  const all = output
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);
  const errors = all.filter((l) => l.startsWith('[ERROR]') && !/-e switch|-X switch|For more information|^\[ERROR\] \[Help \d\]|^\[ERROR\]$/.test(l));
  return (errors.length > 0 ? errors : all.slice(-6)).slice(0, 6).join('\n');
}
