/**
 * `npm run kafka:fetch [-- <version>]`: fetches the pinned Apache Kafka broker jars from
 * Maven Central into `.cache/kafka/<version>/libs` (once; a cached copy is reused), makes
 * the broker JVM's class-data archive if Java is there (infra/jvm-archive.ts), then prints
 * the jars' folder. CI runs it before the tests. Exits 1 with a message on failure.
 */
import { isPlayPulseError, errorMessage } from '../lib/errors.ts';
import { rootLogger } from '../lib/log.ts';
import { KAFKA_VERSION, ensureKafkaJars, hasKafkaJars } from './kafka-jars.ts';
import { buildClassArchive, hasClassArchive } from './kafka-broker.ts';
import { findOnPath } from './tools.ts';

/** stdout carries only the path; progress goes to stderr below, the log only for warnings. */
rootLogger.level = process.env.PLAYPULSE_LOG_LEVEL ?? 'warn';

const version = process.argv[2] ?? KAFKA_VERSION;
if (!/^\d+\.\d+\.\d+$/.test(version)) {
  process.stderr.write(`kafka:fetch: "${version}" is not a Kafka version like ${KAFKA_VERSION}\n`);
  process.exit(1);
}

const cached = hasKafkaJars(version);
const t0 = Date.now();
try {
  const libs = await ensureKafkaJars(version);
  process.stderr.write(cached ? `Kafka ${version} jars already cached\n` : `Kafka ${version} jars fetched in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
  if ((findOnPath('java') || process.env.JAVA_HOME) && !hasClassArchive(version)) {
    const t1 = Date.now();
    process.stderr.write('making the broker class-data archive (once per JVM): one broker start and stop\n');
    // The archive only makes broker starts faster: failing to make it is not a failed fetch.
    const archive = await buildClassArchive(version).catch((err: unknown) => {
      process.stderr.write(`kafka:fetch: could not make the class-data archive (${errorMessage(err)})\n`);
      return { built: false };
    });
    process.stderr.write(archive.built ? `class-data archive made in ${((Date.now() - t1) / 1000).toFixed(1)}s\n` : 'no class-data archive was written; brokers start without it\n');
  }
  process.stdout.write(`${libs}\n`);
} catch (err) {
  const message = isPlayPulseError(err) || errorMessage(err);
  process.stderr.write(`kafka:fetch: ${message}\n`);
  process.exit(1);
}
