import { mkdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readArrowFile, tableSchemaSummary } from './arrow.js';
import { CorruptArtifactError, errorMessage } from './errors.js';
import { errnoCode, fsyncPath, joinAll, moveDir, randomSuffix, writeFileAtomic } from './fsutil.js';
import { digestFile, hashFileDigests, listFilesRecursive, type FileDigest } from './hash.js';
import { readStamp, stampsEqual, takeStamp, writeStamp } from './stamp.js';
import type { FileEntry, Manifest } from './stage.js';

export const MANIFEST_FILE = 'manifest.json';
const ID_PATTERN = /^[0-9a-f]{64}$/;
const KEY_PATTERN = /^[A-Za-z0-9._-]+$/;
const DAY_MS = 24 * 60 * 60 * 1000;

/** `LENNA_STORE` (relative to cwd) if set, else `<cwd>/artifacts`. */
export function resolveStoreRoot(cwd: string = process.cwd()): string {
  const override = process.env.LENNA_STORE;
  return override ? resolve(cwd, override) : join(resolve(cwd), 'artifacts');
}

export function isArtifactId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** What a finished stage run produced, keyed by its cache key. */
export interface CacheRecord {
  cacheKey: string;
  stage: string;
  outputs: Record<string, string>;
  params: unknown;
  inputs: Record<string, string | string[]>;
  finishedAt: string;
  seconds: number;
}

export interface OpenedArtifact {
  id: string;
  dir: string;
  /** File names relative to `dir` ('/'-separated), manifest.json excluded. */
  files: string[];
  manifest: Manifest;
}

export type CommitInfo = Omit<Manifest, 'id' | 'files' | 'schemas' | 'formatVersion' | 'createdAt'>;

/**
 * The content-addressed artifact store:
 * `objects/<id>/` (files + manifest.json), `verified/<id>.json` (stat stamps), `cache/<key>.json`,
 * `logs/`, `tmp/` (staging, never read as objects) and `scratch/<key>/` (checkpoints of interrupted runs).
 */
export class ArtifactStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  objectDir(id: string): string {
    if (!isArtifactId(id)) throw new Error(`"${id}" is not an artifact id (64 lowercase hex digits)`);
    return join(this.root, 'objects', id);
  }

  logsDir(): string {
    const dir = join(this.root, 'logs');
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  private tmpDir(): string {
    return join(this.root, 'tmp');
  }

  private stampPath(id: string): string {
    return join(this.root, 'verified', `${id}.json`);
  }

  private cachePath(cacheKey: string): string {
    if (!KEY_PATTERN.test(cacheKey)) throw new Error(`"${cacheKey}" is not a usable cache key`);
    return join(this.root, 'cache', `${cacheKey}.json`);
  }

  async createStaging(label: string): Promise<string> {
    await mkdir(this.tmpDir(), { recursive: true });
    const safe = label.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'staging';
    return mkdtemp(join(this.tmpDir(), `${safe}-`));
  }

  async scratchDir(cacheKey: string): Promise<string> {
    if (!KEY_PATTERN.test(cacheKey)) throw new Error(`"${cacheKey}" is not a usable cache key`);
    const dir = join(this.root, 'scratch', cacheKey);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Drop a run's scratch folder once its outputs are committed. */
  async removeScratch(cacheKey: string): Promise<void> {
    if (!KEY_PATTERN.test(cacheKey)) return;
    await rm(join(this.root, 'scratch', cacheKey), { recursive: true, force: true });
  }

  async commit(dir: string, info: CommitInfo): Promise<Manifest> {
    const source = resolve(dir);
    const digests = await digestTree(source);
    const id = hashFileDigests(digests);
    const existing = await this.openOrDiscard(id);
    if (existing) {
      await rm(source, { recursive: true, force: true });
      return existing.manifest;
    }
    const staging = await this.adoptIntoTmp(source, id);
    try {
      const manifest = await buildManifest(staging, id, digests, info);
      await writeFileAtomic(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
      await fsyncTree(staging, digests);
      return await this.publish(staging, manifest);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Rename the staged folder into objects/; losing a race to an identical commit is success. */
  private async publish(staging: string, manifest: Manifest): Promise<Manifest> {
    const target = this.objectDir(manifest.id);
    await mkdir(join(this.root, 'objects'), { recursive: true });
    try {
      await rename(staging, target);
    } catch (error) {
      const winner = await this.openOrDiscard(manifest.id);
      if (winner) return winner.manifest;
      // The target was corrupt (now discarded) or the rename failed for another reason: one more try.
      await rename(staging, target).catch(() => {
        throw new Error(`cannot move ${staging} to ${target}: ${errorMessage(error)}`);
      });
    }
    await fsyncPath(join(this.root, 'objects'));
    await this.recordStamp(manifest.id, target, Object.keys(manifest.files));
    return manifest;
  }

  /** Move the source into a fresh folder under tmp/ (same file system as objects/, so publishing is one rename). */
  private async adoptIntoTmp(source: string, id: string): Promise<string> {
    await mkdir(this.tmpDir(), { recursive: true });
    const staging = join(this.tmpDir(), `commit-${id.slice(0, 12)}-${randomSuffix()}`);
    await moveDir(source, staging);
    return staging;
  }

  /** open(), but a corrupt object is moved out of the way (and reported as absent) instead of thrown. */
  private async openOrDiscard(id: string): Promise<OpenedArtifact | undefined> {
    try {
      return await this.open(id);
    } catch (error) {
      if (!(error instanceof CorruptArtifactError)) throw error;
      await this.remove(id);
      return undefined;
    }
  }

  async open(id: string): Promise<OpenedArtifact | undefined> {
    if (!isArtifactId(id)) return undefined;
    const dir = this.objectDir(id);
    const manifest = await readManifest(dir, id);
    if (!manifest) return undefined;
    const files = Object.keys(manifest.files).sort();
    const current = await takeStamp(dir, [...files, MANIFEST_FILE]).catch((error: unknown) => {
      throw new CorruptArtifactError(id, `a file is missing (${errorMessage(error)})`);
    });
    if (!stampsEqual(await readStamp(this.stampPath(id)), current)) {
      const problem = await checkContent(dir, manifest, false);
      if (problem) throw new CorruptArtifactError(id, problem);
      await writeStamp(this.stampPath(id), current);
    }
    return { id, dir, files, manifest };
  }

  async verify(id: string): Promise<{ id: string; ok: boolean; problem?: string }> {
    try {
      const dir = this.objectDir(id);
      const manifest = await readManifest(dir, id);
      if (!manifest) return { id, ok: false, problem: 'not in the store' };
      const before = await takeStamp(dir, [...Object.keys(manifest.files), MANIFEST_FILE]).catch(() => undefined);
      const problem = await checkContent(dir, manifest, true);
      if (problem) return { id, ok: false, problem };
      if (before) await writeStamp(this.stampPath(id), before);
      return { id, ok: true };
    } catch (error) {
      return { id, ok: false, problem: errorMessage(error) };
    }
  }

  private async recordStamp(id: string, dir: string, files: string[]): Promise<void> {
    await writeStamp(this.stampPath(id), await takeStamp(dir, [...files, MANIFEST_FILE]));
  }

  async list(): Promise<string[]> {
    const names = await readdir(join(this.root, 'objects')).catch(() => [] as string[]);
    return names.filter(isArtifactId).sort();
  }

  /** Remove an object: it disappears from objects/ in one rename, then its bytes are deleted. */
  async remove(id: string): Promise<void> {
    const dir = this.objectDir(id);
    await mkdir(this.tmpDir(), { recursive: true });
    const trash = join(this.tmpDir(), `removed-${id.slice(0, 12)}-${randomSuffix()}`);
    try {
      await rename(dir, trash);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
    await rm(this.stampPath(id), { force: true });
    await rm(trash, { recursive: true, force: true });
  }

  async readCacheRecord(cacheKey: string): Promise<CacheRecord | undefined> {
    try {
      const record = JSON.parse(await readFile(this.cachePath(cacheKey), 'utf8')) as CacheRecord;
      return record && typeof record === 'object' && record.cacheKey === cacheKey ? record : undefined;
    } catch {
      return undefined;
    }
  }

  async writeCacheRecord(record: CacheRecord): Promise<void> {
    await writeFileAtomic(this.cachePath(record.cacheKey), `${JSON.stringify(record, null, 2)}\n`);
  }

  async cleanTmp(maxAgeMs: number = DAY_MS): Promise<void> {
    const names = await readdir(this.tmpDir()).catch(() => [] as string[]);
    const now = Date.now();
    for (const name of names) {
      const path = join(this.tmpDir(), name);
      const info = await stat(path).catch(() => undefined);
      // mtime has sub-millisecond precision and Date.now() does not: floored, a just-written file is 0 ms old, not −0.7.
      if (info && now - Math.floor(info.mtimeMs) >= maxAgeMs) await rm(path, { recursive: true, force: true });
    }
  }
}

async function digestTree(dir: string): Promise<FileDigest[]> {
  const files = await listFilesRecursive(dir).catch((error: unknown) => {
    throw new Error(`cannot commit ${dir}: ${errorMessage(error)}`);
  });
  if (files.length === 0) throw new Error(`cannot commit ${dir}: it holds no files`);
  if (files.includes(MANIFEST_FILE)) throw new Error(`cannot commit ${dir}: "${MANIFEST_FILE}" is reserved for the store`);
  const digests: FileDigest[] = [];
  for (const name of files) digests.push({ name, ...(await digestFile(joinAll(dir, name))) });
  return digests;
}

async function buildManifest(dir: string, id: string, digests: FileDigest[], info: CommitInfo): Promise<Manifest> {
  const files: Record<string, FileEntry> = {};
  for (const d of digests) files[d.name] = { sha256: d.sha256, size: d.size };
  const schemas: NonNullable<Manifest['schemas']> = {};
  for (const d of digests) {
    if (d.name.endsWith('.arrow')) schemas[d.name] = tableSchemaSummary(await readArrowFile(joinAll(dir, d.name)));
  }
  const manifest: Manifest = { formatVersion: 1, id, ...info, files, createdAt: new Date().toISOString() };
  if (Object.keys(schemas).length > 0) manifest.schemas = schemas;
  return manifest;
}

async function fsyncTree(dir: string, digests: FileDigest[]): Promise<void> {
  const folders = new Set<string>([dir]);
  for (const d of digests) {
    await fsyncPath(joinAll(dir, d.name));
    const parts = d.name.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(joinAll(dir, parts.slice(0, i).join('/')));
  }
  for (const folder of folders) await fsyncPath(folder);
}

/** The manifest of an object, undefined if the object is absent; unreadable => corrupt. */
async function readManifest(dir: string, id: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw new CorruptArtifactError(id, `manifest.json unreadable: ${errorMessage(error)}`);
    const folderExists = await stat(dir).then(() => true, () => false);
    if (folderExists) throw new CorruptArtifactError(id, 'manifest.json is missing');
    return undefined;
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch {
    throw new CorruptArtifactError(id, 'manifest.json is not valid JSON');
  }
  if (!manifest || typeof manifest !== 'object' || manifest.id !== id || typeof manifest.files !== 'object' || manifest.files === null) {
    throw new CorruptArtifactError(id, 'manifest.json does not describe this artifact');
  }
  const outside = Object.keys(manifest.files).find((name) => name.startsWith('/') || name.split('/').some((part) => part === '..' || part === ''));
  if (outside !== undefined) throw new CorruptArtifactError(id, `manifest.json lists "${outside}", a path outside the artifact`);
  return manifest;
}

/** Re-hash every file; returns the problem in one sentence, or undefined when all matches the id. */
async function checkContent(dir: string, manifest: Manifest, checkExtraFiles: boolean): Promise<string | undefined> {
  const digests: FileDigest[] = [];
  for (const [name, entry] of Object.entries(manifest.files)) {
    const actual = await digestFile(joinAll(dir, name)).catch(() => undefined);
    if (!actual) return `file ${name} is missing`;
    if (actual.size !== entry.size) return `file ${name} has ${actual.size} bytes, the manifest says ${entry.size}`;
    if (actual.sha256 !== entry.sha256) return `file ${name} has sha256 ${actual.sha256}, the manifest says ${entry.sha256}`;
    digests.push({ name, ...actual });
  }
  if (hashFileDigests(digests) !== manifest.id) return 'its files do not hash to its id';
  if (checkExtraFiles) {
    const present = (await listFilesRecursive(dir)).filter((f) => f !== MANIFEST_FILE);
    const extra = present.filter((f) => !(f in manifest.files));
    if (extra.length > 0) return `it holds files its manifest does not list: ${extra.join(', ')}`;
  }
  return undefined;
}
