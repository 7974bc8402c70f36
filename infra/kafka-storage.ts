import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PlayPulseError } from '../lib/errors.ts';
import { kafkaCacheDir } from './kafka-jars.ts';
import { KAFKA_LOG4J_CONFIG, serverProperties } from './kafka-properties.ts';

/**
 * Formatted KRaft storage, made once per version in `.cache/kafka/<version>/formatted` by
 * `kafka-storage format` and copied into every new broker's folder. The copy carries a
 * fixed cluster id; it holds no listener addresses, so it fits any port.
 */
export async function formattedTemplate(java: string, libs: string, version: string): Promise<string> {
  const template = join(kafkaCacheDir(version), 'formatted');
  if (existsSync(join(template, 'meta.properties'))) return template;
  const staging = mkdtempSync(join(kafkaCacheDir(version), 'formatting-'));
  try {
    const logDir = join(staging, 'data');
    const props = join(staging, 'server.properties');
    writeFileSync(props, serverProperties({ port: 9092, controllerPort: 9093, logDir }));
    const clusterId = randomBytes(16).toString('base64url');
    const output = await runJava(java, ['-Xmx256m', `-Dlog4j2.configurationFile=${KAFKA_LOG4J_CONFIG}`, `-Dkafka.logs.dir=${staging}`, '-cp', join(libs, '*'), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props]);
    if (!existsSync(join(logDir, 'meta.properties'))) {
      throw new PlayPulseError('STACK_UNAVAILABLE', `formatting Kafka storage failed:\n${output.slice(-2_000)}`);
    }
    if (!existsSync(join(template, 'meta.properties'))) {
      rmSync(template, { recursive: true, force: true });
      try {
        renameSync(logDir, template);
      } catch (err) {
        if (!existsSync(join(template, 'meta.properties'))) throw err;
      }
    }
    return template;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Fresh storage for node `nodeId` in `logDir`: a copy of the formatted template with that
 * node id and a directory id of its own in meta.properties, which is all `kafka-storage
 * format` writes differently per node of a static quorum (the bootstrap checkpoint holds the
 * cluster's feature levels only). Every node made from the template shares its cluster id,
 * so nodes of one local cluster can join each other.
 */
export async function formatNodeStorage(java: string, libs: string, version: string, logDir: string, nodeId = 1): Promise<void> {
  cpSync(await formattedTemplate(java, libs, version), logDir, { recursive: true });
  if (nodeId === 1) return;
  const meta = join(logDir, 'meta.properties');
  const lines = readFileSync(meta, 'utf8')
    .split('\n')
    .map((line) => {
      if (line.startsWith('node.id=')) return `node.id=${nodeId}`;
      if (line.startsWith('directory.id=')) return `directory.id=${randomBytes(16).toString('base64url')}`;
      return line;
    });
  writeFileSync(meta, lines.join('\n'));
}

function runJava(java: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(java, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(output);
    });
  });
}
