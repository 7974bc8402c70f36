import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * AppCDS for the broker JVM. `npm run kafka:fetch` starts one broker that writes a dynamic
 * class-data archive when it stops (`-XX:ArchiveClassesAtExit`); every later broker maps it
 * (`-XX:SharedArchiveFile`) and skips parsing and verifying a few thousand classes — about
 * a third of the CPU of a start. The archive is named by the JVM build, since another JVM
 * cannot use it; a JVM that finds it unusable ignores it and starts normally. No archive,
 * no flag: brokers start as usual.
 */
export function classArchivePath(dir: string, javaBuild: string): string {
  return join(dir, `classes-${javaBuild}.jsa`);
}

/** JVM flags that map the archive of this JVM build, if one was made. */
export function useClassArchive(dir: string, javaBuild: string): string[] {
  const archive = classArchivePath(dir, javaBuild);
  return existsSync(archive) ? [`-XX:SharedArchiveFile=${archive}`] : [];
}

/** Puts a freshly written archive in place (or drops an empty one). */
export function keepClassArchive(written: string, dir: string, javaBuild: string): boolean {
  try {
    if (!existsSync(written) || statSync(written).size === 0) return false;
    renameSync(written, classArchivePath(dir, javaBuild));
    return true;
  } finally {
    rmSync(written, { force: true });
  }
}
