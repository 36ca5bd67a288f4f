import { open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { UserError } from '@lenna/core';

export interface LockEntry {
  stage: string;
  version: number;
  code: string;
  key: string;
  params: unknown;
  inputs: Record<string, string | string[]>;
  outputs: Record<string, string>;
}

export interface LockFile {
  pipeline: string;
  stages: Record<string, LockEntry>;
}

export async function readLockFile(path: string): Promise<LockFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as LockFile;
    if (typeof value?.stages !== 'object' || value.stages === null) throw new Error('no stages');
    return value;
  } catch {
    throw new UserError(`${path}: the lock file is not valid JSON with a "stages" map; delete it and run again to rebuild it.`);
  }
}

/** Sorted keys at every level, 2-space indent, trailing newline: diffs well in review. */
export function formatLockFile(lock: LockFile): string {
  return JSON.stringify(sortKeys(lock), null, 2) + '\n';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * Read-modify-write of the lock file under an exclusive `.lck` file (O_EXCL; a lock whose owner
 * process is gone is taken over), written via temp file + rename so readers never see half a file.
 */
export async function updateLockFile(path: string, pipeline: string, change: (lock: LockFile) => void): Promise<void> {
  await withFileLock(`${path}.lck`, async () => {
    const lock = (await readLockFile(path)) ?? { pipeline, stages: {} };
    lock.pipeline = pipeline;
    change(lock);
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, formatLockFile(lock));
    await rename(temp, path);
  });
}

async function withFileLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (await ownerIsGone(lockPath)) await unlink(lockPath).catch(() => undefined);
      else await new Promise((r) => setTimeout(r, Math.min(5 + attempt * 5, 100)));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

async function ownerIsGone(lockPath: string): Promise<boolean> {
  const pid = Number(await readFile(lockPath, 'utf8').catch(() => ''));
  // An empty file is a lock being written right now: not stale.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
