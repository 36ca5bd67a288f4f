import { randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ownerTag } from './holder.js';

export function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/** Unique, and names its owner (see ownerTag), so the store can tell a crashed process's leftovers from a live one's. */
export function randomSuffix(): string {
  return `${ownerTag()}${randomBytes(6).toString('hex')}`;
}

/** fsync a file or a folder (on Linux a folder opened read-only can be fsynced, which persists its entries). */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Write a file so that readers see either the old or the new content, never a half-written one. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${randomSuffix()}`;
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    // A FileHandle's write errors carry no path; a message about a full disk should name one.
    if (error && typeof error === 'object' && !('path' in error)) Object.assign(error, { path });
    throw error;
  }
}

/** Move a folder; across file systems (EXDEV) copy it and remove the source. */
export async function moveDir(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if (errnoCode(error) !== 'EXDEV') throw error;
    await cp(from, to, { recursive: true, errorOnExist: true, force: false });
    await rm(from, { recursive: true, force: true });
  }
}

export async function writeTextFile(path: string, text: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

/** Remove a tree even where it is read-only (a committed artifact's folders are r-x): folders are made writable first. */
export async function forceRemove(path: string): Promise<void> {
  await makeTreeWritable(path);
  await rm(path, { recursive: true, force: true });
}

/** u+w on every folder of a tree (files need not be: unlinking takes the folder's permission, not the file's). */
export async function makeTreeWritable(path: string): Promise<void> {
  let entries;
  try {
    await chmod(path, 0o755);
    entries = await readdir(path, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) if (entry.isDirectory()) await makeTreeWritable(join(path, entry.name));
}

export function joinAll(root: string, rel: string): string {
  return join(root, ...rel.split('/'));
}
