import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from './fsutil.js';
import { digestFile } from './hash.js';

/** Where digests of files outside the store are remembered: `$LENNA_DIGEST_CACHE`, else `$XDG_CACHE_HOME/lenna/file-digests.json` (`~/.cache/...`). */
export function digestMemoPath(): string {
  if (process.env.LENNA_DIGEST_CACHE) return resolve(process.env.LENNA_DIGEST_CACHE);
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lenna', 'file-digests.json');
}

interface Remembered {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  dev: number;
  sha256: string;
}

/**
 * sha256 and size of a file outside the store (a data set), hashed once and then remembered by its
 * stat (size, mtime, ctime, inode, device): while those are unchanged the file is not read again.
 * The memo is a cache: when it cannot be read or written, the file is simply hashed.
 */
export async function rememberedDigest(path: string, memoPath: string = digestMemoPath()): Promise<{ sha256: string; size: number }> {
  const file = resolve(path);
  const info = await stat(file);
  const now = { size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs, ino: info.ino, dev: info.dev };
  const memo = await readMemo(memoPath);
  const known = memo.get(file);
  if (known && (Object.keys(now) as (keyof typeof now)[]).every((k) => known[k] === now[k])) return { sha256: known.sha256, size: known.size };
  const digest = await digestFile(file);
  // Re-read just before writing: another process may have remembered other files meanwhile.
  const latest = await readMemo(memoPath);
  latest.set(file, { ...now, sha256: digest.sha256 });
  await writeFileAtomic(memoPath, JSON.stringify(Object.fromEntries(latest))).catch(() => undefined);
  return digest;
}

async function readMemo(memoPath: string): Promise<Map<string, Remembered>> {
  try {
    const value = JSON.parse(await readFile(memoPath, 'utf8')) as Record<string, Remembered>;
    return new Map(Object.entries(value).filter(([, v]) => typeof v?.sha256 === 'string'));
  } catch {
    return new Map();
  }
}
