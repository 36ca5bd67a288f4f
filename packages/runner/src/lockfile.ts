import { readFile, readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { tagLiveness, UserError, withFileLock, writeFileAtomic, type LockWaitOptions } from '@lenna/core';

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
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
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

/** How lenna waits on a lock held by another process: the timeout, Ctrl-C, and who to tell. */
export type LockPolicy = Omit<LockWaitOptions, 'what'>;

/**
 * Read-modify-write of the lock file under `<lock file>.lck` (core's file lock: it names its holder,
 * and a dead or empty one is taken over), written via temp file + rename so readers never see half
 * a file. A writer on another host is waited for (it cannot be probed) until the policy's timeout.
 */
export async function updateLockFile(path: string, pipeline: string, change: (lock: LockFile) => void, policy: LockPolicy = {}): Promise<void> {
  await withFileLock(`${path}.lck`, { ...policy, what: `the lock file ${basename(path)}` }, async () => {
    const lock = (await readLockFile(path)) ?? { pipeline, stages: {} };
    lock.pipeline = pipeline;
    change(lock);
    await sweepTempFiles(path);
    await writeFileAtomic(path, formatLockFile(lock));
  });
}

/** Temp files a writer killed mid-write left beside the lock file. */
async function sweepTempFiles(path: string): Promise<void> {
  const prefix = `${basename(path)}.tmp-`;
  for (const name of await readdir(dirname(path)).catch(() => [] as string[])) {
    if (name.startsWith(prefix) && tagLiveness(name) === 'dead') await unlink(join(dirname(path), name)).catch(() => undefined);
  }
}
