import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic, joinAll } from './fsutil.js';

/**
 * A stat stamp: what the files of a verified artifact looked like (size, mtime, ctime, inode). While
 * every file still matches its stamp the store trusts the earlier hash check, so a no-op run never
 * re-reads large files. Any write through the file system changes ctime, which the writer cannot set
 * back (mtime it can: `touch -d`), so it forces a re-hash.
 */
export type Stamp = Record<string, { size: number; mtimeMs: number; ctimeMs: number; ino: number; sha256?: string }>;

export async function takeStamp(dir: string, files: string[]): Promise<Stamp> {
  const stamp: Stamp = {};
  for (const file of files) {
    const s = await stat(joinAll(dir, file));
    stamp[file] = { size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino };
  }
  return stamp;
}

export async function readStamp(path: string): Promise<Stamp | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
}

/** Best effort: a stamp only saves a later re-hash, so a read-only or full store just goes without. */
export async function writeStamp(path: string, stamp: Stamp): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(stamp)).catch(() => undefined);
}

export function stampsEqual(recorded: Stamp | undefined, current: Stamp): boolean {
  if (!recorded) return false;
  const names = Object.keys(current);
  if (Object.keys(recorded).length !== names.length) return false;
  return names.every((name) => {
    const a = recorded[name];
    const b = current[name];
    return a !== undefined && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
  });
}
