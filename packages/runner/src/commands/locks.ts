import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '@lenna/core';
import { readLockFile, type LockEntry, type LockFile } from '../lockfile.js';

/** Lock files of the pipelines under `<cwd>/pipelines/` (and any given explicitly). */
export async function listLockFiles(extra: string[] = [], cwd = process.cwd()): Promise<string[]> {
  const dir = join(cwd, 'pipelines');
  const names = await readdir(dir).catch(() => [] as string[]);
  const found = names.filter((n) => n.endsWith('.lock.json')).map((n) => join(dir, n));
  return [...new Set([...found, ...extra.map((e) => resolve(cwd, lockPathOf(e)))])].sort();
}

export function lockPathOf(pipelineOrLock: string): string {
  return pipelineOrLock.endsWith('.lock.json') ? pipelineOrLock : pipelineOrLock.replace(/\.ya?ml$/, '') + '.lock.json';
}

export async function readLocks(files: string[]): Promise<[string, LockFile][]> {
  const result: [string, LockFile][] = [];
  for (const f of files) {
    const lock = await readLockFile(f);
    if (lock) result.push([f, lock]);
  }
  return result;
}

/** The lock entry of a stage instance: from --pipeline's lock file, or the one lock file that has it. */
export async function findLockEntries(instance: string, pipeline?: string): Promise<LockEntry> {
  const files = pipeline ? [resolve(lockPathOf(pipeline))] : await listLockFiles();
  const hits = (await readLocks(files)).filter(([, lock]) => instance in lock.stages);
  if (hits.length === 0) {
    throw new UserError(`"${instance}" is not a file, an artifact id, or a stage instance in ${files.length ? files.join(', ') : 'any lock file under pipelines/'}; give one of those (run the pipeline first).`);
  }
  if (hits.length > 1) {
    throw new UserError(`stage instance "${instance}" is in several lock files (${hits.map(([f]) => f).join(', ')}); pick one with --pipeline.`);
  }
  return hits[0][1].stages[instance];
}
