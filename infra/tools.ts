import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { PlayPulseError } from '../lib/errors.ts';

/** Full path of an executable found on PATH, or null. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      continue;
    }
  }
  return null;
}

/** The command of a tool the local stack needs, or STACK_MISSING_TOOL saying what to install. */
export function requireTool(name: string, install: string): string {
  const found = findOnPath(name);
  if (!found) throw new PlayPulseError('STACK_MISSING_TOOL', `${name} is not on PATH: ${install}`, { tool: name });
  return found;
}

export const MIN_JAVA_MAJOR = 17;

const JAVA_INSTALL = `install a JDK ${MIN_JAVA_MAJOR}+ (e.g. apt-get install openjdk-17-jre-headless) to run the local Kafka broker, or set KAFKA_BROKERS to a running broker (infra/docker-compose.yml starts one with Docker)`;

/** `java` from JAVA_HOME or PATH, checked to be version 17 or newer. */
/** `build` names the exact JVM (a hash of its `-version` output). */
export function requireJava(): { java: string; major: number; build: string } {
  const javaHome = process.env.JAVA_HOME;
  const java = javaHome ? join(javaHome, 'bin', 'java') : findOnPath('java');
  if (!java) throw new PlayPulseError('STACK_MISSING_TOOL', `java is not on PATH: ${JAVA_INSTALL}`, { tool: 'java' });
  if (!existsSync(java)) throw new PlayPulseError('STACK_MISSING_TOOL', `there is no ${java} (JAVA_HOME=${javaHome}): ${JAVA_INSTALL}`, { tool: 'java' });
  const probe = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 15_000 });
  const text = `${probe.stderr ?? ''}${probe.stdout ?? ''}`;
  const major = parseJavaMajor(text);
  if (probe.status !== 0 || major === null) {
    throw new PlayPulseError('STACK_MISSING_TOOL', `${java} -version failed (${text.trim().split('\n')[0] ?? probe.error?.message ?? 'no output'}): ${JAVA_INSTALL}`, {
      tool: 'java',
    });
  }
  if (major < MIN_JAVA_MAJOR) {
    throw new PlayPulseError('STACK_MISSING_TOOL', `${java} is Java ${major}; Kafka needs Java ${MIN_JAVA_MAJOR}+: ${JAVA_INSTALL}`, { tool: 'java' });
  }
  return { java, major, build: createHash('sha256').update(text).digest('hex').slice(0, 12) };
}

/** Major version from `java -version` output: `version "17.0.15"` → 17, `version "1.8.0_392"` → 8. */
export function parseJavaMajor(versionOutput: string): number | null {
  const m = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!m) return null;
  const first = Number(m[1]);
  return first === 1 && m[2] !== undefined ? Number(m[2]) : first;
}
