import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ArtifactStore, CorruptArtifactError, isArtifactId, UserError, type Manifest } from '@lenna/core';
import { readLockFile } from '../lockfile.js';
import { CACHE_KEY, LOCK_NAME, MANIFEST } from './layout.js';
import { bytesEntry, EntryChangedError, fileChunks, writeTarFile, type TarOutEntry } from './tar.js';

/**
 * `lenna export`: a pipeline's artifacts, the cache records of the runs that made them and its lock
 * file, as one tar (layout in layout.ts). Every file is re-hashed on the way out.
 */

export interface ExportOptions {
  /** A pipeline's lock file to pack as `pipelines/<its name>`; the cache records of the runs it names travel too. */
  lockFile?: string;
  /** Gzip the tar; default: when tarFile ends in .gz or .tgz. */
  gzip?: boolean;
}

export interface ExportResult {
  ids: string[];
  /** Number of tar entries written (files, not folders). */
  entries: number;
}

/** What a pipeline's lock file points at: every artifact its stages read or wrote, and their cache keys. */
export async function lockFileReferences(lockFile: string): Promise<{ ids: string[]; cacheKeys: string[] }> {
  const lock = await readLockFile(lockFile);
  if (!lock) throw new UserError(`${lockFile} does not exist; run the pipeline once (it writes the lock file) before exporting.`);
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const entry of Object.values(lock.stages)) {
    for (const id of Object.values(entry.outputs ?? {})) ids.add(id);
    for (const input of Object.values(entry.inputs ?? {})) for (const id of [input].flat()) ids.add(id);
    if (entry.key) keys.add(entry.key);
  }
  return { ids: [...ids].filter(isArtifactId).sort(), cacheKeys: [...keys].sort() };
}

async function artifactEntries(store: ArtifactStore, id: string): Promise<{ entries: TarOutEntry[]; manifest: Manifest }> {
  if (!isArtifactId(id)) throw new UserError(`"${id}" is not an artifact id (64 lowercase hex digits); export takes ids from a lock file or \`lenna store list\`.`);
  const artifact = await store.open(id);
  if (!artifact) throw new UserError(`artifact ${id} is not in the store at ${store.root}; run the pipeline (or import it) before exporting.`);
  const manifestBytes = await readFile(join(artifact.dir, MANIFEST));
  const entries: TarOutEntry[] = [bytesEntry(`objects/${id}/${MANIFEST}`, manifestBytes)];
  for (const name of [...artifact.files].sort()) {
    const file = join(artifact.dir, ...name.split('/'));
    const { size, sha256 } = artifact.manifest.files[name];
    entries.push({ path: `objects/${id}/${name}`, size, sha256, chunks: () => fileChunks(file) });
  }
  return { entries, manifest: artifact.manifest };
}

/**
 * Pack artifacts (every file plus manifest.json), the cache records of the runs that made them, and
 * optionally a lock file into one tar, entries in sorted order. A file that no longer matches its
 * manifest fails the export (CorruptArtifactError) instead of travelling, and no tar is left behind.
 */
export async function exportArtifacts(storeRoot: string, ids: string[], tarFile: string, options: ExportOptions = {}): Promise<ExportResult> {
  const store = new ArtifactStore(storeRoot);
  const unique = [...new Set(ids)].sort();
  const entries: TarOutEntry[] = [];
  const cacheKeys = new Set<string>();
  for (const id of unique) {
    const { entries: files, manifest } = await artifactEntries(store, id);
    entries.push(...files);
    if (manifest.cacheKey) cacheKeys.add(manifest.cacheKey);
  }
  // An artifact shared by two runs names only its first producer's key: the lock file names the others.
  if (options.lockFile) for (const key of (await lockFileReferences(options.lockFile)).cacheKeys) cacheKeys.add(key);
  for (const key of [...cacheKeys].sort()) {
    const record = CACHE_KEY.test(key) ? await store.readCacheRecord(key) : undefined;
    if (record) entries.push(bytesEntry(`cache/${key}.json`, Buffer.from(`${JSON.stringify(record, null, 2)}\n`)));
  }
  if (options.lockFile) {
    const name = basename(options.lockFile);
    if (!LOCK_NAME.test(name)) throw new UserError(`lock file ${options.lockFile} should be named <pipeline>.lock.json (letters, digits, . _ -).`);
    entries.push(bytesEntry(`pipelines/${name}`, await readFile(options.lockFile)));
  }
  const gzip = options.gzip ?? /\.(tgz|gz)$/.test(tarFile);
  try {
    await writeTarFile(tarFile, entries, { gzip });
  } catch (error) {
    if (error instanceof EntryChangedError) throw new CorruptArtifactError(error.path.split('/')[1] ?? error.path, `${error.path} no longer matches its manifest`);
    throw error;
  }
  return { ids: unique, entries: entries.length };
}
