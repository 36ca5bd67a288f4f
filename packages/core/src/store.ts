import { mkdirSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readArrowFile, tableSchemaSummary } from './arrow.js';
import { CorruptArtifactError, errorMessage, fsErrorCode } from './errors.js';
import { errnoCode, forceRemove, fsyncPath, joinAll, makeTreeWritable, moveDir, randomSuffix, writeFileAtomic } from './fsutil.js';
import { digestFile, hashFileDigests, listFilesRecursive, sha256Hex, type FileDigest } from './hash.js';
import { tagLiveness } from './holder.js';
import { readStamp, stampsEqual, takeStamp, writeStamp, type Stamp } from './stamp.js';
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

/** Why an object was moved to quarantine/ (by lenna verify, or by a run that found it corrupt). */
export interface QuarantineNote {
  id: string;
  problem: string;
  at: string;
  /** The folder under quarantine/ that holds the corrupt files. */
  folder: string;
}

export interface VerifyResult {
  id: string;
  ok: boolean;
  problem?: string;
  /** The files could not be read (permission, I/O error): nothing is known about their content. */
  unreadable?: boolean;
}

/** Store folders whose temp files (`*.tmp-<owner tag>...`) cleanTmp sweeps. */
const TEMP_FILE_FOLDERS = ['cache', 'verified', 'runs', 'locks', 'quarantine'];

/**
 * The content-addressed artifact store:
 * `objects/<id>/` (files + manifest.json, read-only on disk), `verified/<id>.json` (stat stamps),
 * `cache/<key>.json`, `quarantine/` (corrupt objects moved aside), `pending/<key>/` (finished outputs
 * whose commit failed), `runs/` and `locks/` (what gc protects, see runs.ts), `logs/`, `tmp/`
 * (staging, never read as objects) and `scratch/<key>/` (checkpoints of interrupted runs).
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

  /** A fresh folder under tmp/ whose name carries this process's owner tag: cleanTmp leaves it alone while the process lives. */
  async createStaging(label: string): Promise<string> {
    await mkdir(this.tmpDir(), { recursive: true });
    const safe = label.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'staging';
    const dir = join(this.tmpDir(), `${safe}-${randomSuffix()}`);
    await mkdir(dir);
    return dir;
  }

  /** Delete a staging (or pending) folder, read-only leftovers included. */
  async discardStaging(dir: string): Promise<void> {
    await forceRemove(dir);
  }

  /** The object a run with this cache key committed for this output, found by its manifest (a slow scan, for rare repairs). */
  async findCommitted(cacheKey: string, output: string): Promise<string | undefined> {
    for (const id of await this.list()) {
      const manifest = (await readManifest(this.objectDir(id), id).catch(() => undefined))?.manifest;
      if (manifest?.cacheKey === cacheKey && manifest.output === output && (await this.open(id).catch(() => undefined))) return id;
    }
    return undefined;
  }

  /** Where a run's finished outputs wait when committing them failed (disk full...): the next run commits them. */
  pendingDir(cacheKey: string): string {
    if (!KEY_PATTERN.test(cacheKey)) throw new Error(`"${cacheKey}" is not a usable cache key`);
    return join(this.root, 'pending', cacheKey);
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

  /**
   * Moves the folder's files into objects/<id> (read-only). If anything fails before the object is in
   * place, the files go back to `dir`, so a retry commits them without recomputing.
   */
  async commit(dir: string, info: CommitInfo): Promise<Manifest> {
    const source = resolve(dir);
    const digests = await digestTree(source);
    const id = hashFileDigests(digests);
    const existing = await this.openOrQuarantine(id);
    if (existing) {
      await forceRemove(source);
      return existing.manifest;
    }
    const staging = await this.adoptIntoTmp(source, id);
    let manifest: Manifest;
    try {
      manifest = await buildManifest(staging, id, digests, info);
      await writeFileAtomic(join(staging, MANIFEST_FILE), manifestText(manifest));
      await fsyncTree(staging, digests);
      await makeFilesReadOnly(staging, digests);
    } catch (error) {
      await this.giveBack(staging, source);
      throw error;
    }
    return this.publish(staging, source, manifest);
  }

  /** Rename the staged folder into objects/; losing a race to an identical commit is success. */
  private async publish(staging: string, source: string, manifest: Manifest): Promise<Manifest> {
    const target = this.objectDir(manifest.id);
    try {
      await mkdir(join(this.root, 'objects'), { recursive: true });
      await rename(staging, target);
    } catch (error) {
      const winner = await this.openOrQuarantine(manifest.id).catch(() => undefined);
      if (winner) {
        await forceRemove(staging);
        return winner.manifest;
      }
      // The target was corrupt (now in quarantine) or the rename failed for another reason: one more try.
      try {
        await rename(staging, target);
      } catch {
        await this.giveBack(staging, source);
        throw error;
      }
    }
    // The object is in place: what follows only saves work later, so it may fail quietly.
    await chmod(target, 0o555).catch(() => undefined);
    await fsyncPath(join(this.root, 'objects')).catch(() => undefined);
    await this.recordStamp(manifest.id, target, Object.keys(manifest.files), sha256Hex(manifestText(manifest)));
    await rm(this.quarantineNotePath(manifest.id), { force: true }).catch(() => undefined);
    return manifest;
  }

  /** Undo adoptIntoTmp: the files return to where the caller had them, without the manifest. */
  private async giveBack(staging: string, source: string): Promise<void> {
    await makeTreeWritable(staging);
    await rm(join(staging, MANIFEST_FILE), { force: true }).catch(() => undefined);
    await moveDir(staging, source).catch(() => undefined);
  }

  /** Move the source into a fresh folder under tmp/ (same file system as objects/, so publishing is one rename). */
  private async adoptIntoTmp(source: string, id: string): Promise<string> {
    await mkdir(this.tmpDir(), { recursive: true });
    const staging = join(this.tmpDir(), `commit-${id.slice(0, 12)}-${randomSuffix()}`);
    await moveDir(source, staging);
    return staging;
  }

  /** open(), but a corrupt object is moved to quarantine/ (and reported as absent) instead of thrown. */
  private async openOrQuarantine(id: string): Promise<OpenedArtifact | undefined> {
    try {
      return await this.open(id);
    } catch (error) {
      if (!(error instanceof CorruptArtifactError)) throw error;
      await this.quarantine(id, error.problem);
      return undefined;
    }
  }

  /**
   * The object's manifest and files, undefined if it is absent. A file whose stat differs from the
   * stamp is re-hashed; a mismatch throws CorruptArtifactError. An error reading the files (EACCES,
   * EIO, EMFILE) is thrown as it is: it says nothing about their content.
   */
  async open(id: string): Promise<OpenedArtifact | undefined> {
    if (!isArtifactId(id)) return undefined;
    const dir = this.objectDir(id);
    const read = await readManifest(dir, id);
    if (!read) return undefined;
    const { manifest } = read;
    const files = Object.keys(manifest.files).sort();
    const current = await takeStamp(dir, [...files, MANIFEST_FILE]).catch((error: unknown) => {
      if (!isMissing(error)) throw error;
      throw new CorruptArtifactError(id, `a file is missing (${errorMessage(error)})`);
    });
    const recorded = await readStamp(this.stampPath(id));
    if (!stampsEqual(recorded, current)) {
      const problem = manifestProblem(recorded, read.sha256) ?? (await checkContent(dir, manifest, false));
      if (problem) throw new CorruptArtifactError(id, problem);
      await writeStamp(this.stampPath(id), withManifestDigest(current, recorded, read.sha256));
    }
    return { id, dir, files, manifest };
  }

  /** Re-hashes every file (always); also reports files the manifest does not list. */
  async verify(id: string): Promise<VerifyResult> {
    try {
      const dir = this.objectDir(id);
      const read = await readManifest(dir, id);
      if (!read) return { id, ok: false, problem: 'not in the store' };
      const before = await takeStamp(dir, [...Object.keys(read.manifest.files), MANIFEST_FILE]).catch(() => undefined);
      const recorded = await readStamp(this.stampPath(id));
      const problem = manifestProblem(recorded, read.sha256) ?? (await checkContent(dir, read.manifest, true));
      if (problem) return { id, ok: false, problem };
      if (before) await writeStamp(this.stampPath(id), withManifestDigest(before, recorded, read.sha256));
      return { id, ok: true };
    } catch (error) {
      if (error instanceof CorruptArtifactError) return { id, ok: false, problem: error.problem };
      return { id, ok: false, problem: errorMessage(error), unreadable: true };
    }
  }

  /**
   * Moves a corrupt object out of objects/ into quarantine/<id>.<time>/ (kept for inspection until
   * gc) and notes why, so the run that rebuilds it can say so.
   */
  async quarantine(id: string, problem: string): Promise<QuarantineNote | undefined> {
    const dir = this.objectDir(id);
    const at = new Date().toISOString();
    const folder = join(this.root, 'quarantine', `${id}.${at.replace(/[:.]/g, '-')}`);
    await mkdir(join(this.root, 'quarantine'), { recursive: true });
    try {
      await chmod(dir, 0o755);
      await rename(dir, folder);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    await rm(this.stampPath(id), { force: true });
    const note: QuarantineNote = { id, problem, at, folder };
    await writeFileAtomic(this.quarantineNotePath(id), `${JSON.stringify(note, null, 2)}\n`);
    return note;
  }

  async quarantineNote(id: string): Promise<QuarantineNote | undefined> {
    try {
      return JSON.parse(await readFile(this.quarantineNotePath(id), 'utf8')) as QuarantineNote;
    } catch {
      return undefined;
    }
  }

  /** Quarantined folders (corrupt copies) and notes: what gc may delete. */
  async listQuarantine(): Promise<string[]> {
    const names = await readdir(join(this.root, 'quarantine')).catch(() => [] as string[]);
    return names.filter((n) => !n.includes('.tmp-')).map((n) => join(this.root, 'quarantine', n));
  }

  private quarantineNotePath(id: string): string {
    return join(this.root, 'quarantine', `${id}.json`);
  }

  private async recordStamp(id: string, dir: string, files: string[], manifestSha256: string): Promise<void> {
    await writeStamp(this.stampPath(id), withManifestDigest(await takeStamp(dir, [...files, MANIFEST_FILE]), undefined, manifestSha256));
  }

  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(join(this.root, 'objects'));
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    return names.filter(isArtifactId).sort();
  }

  /** Remove an object: it disappears from objects/ in one rename, then its bytes are deleted. */
  async remove(id: string): Promise<void> {
    const dir = this.objectDir(id);
    await mkdir(this.tmpDir(), { recursive: true });
    const trash = join(this.tmpDir(), `removed-${id.slice(0, 12)}-${randomSuffix()}`);
    try {
      // A folder moved to another parent must be writable itself (its '..' entry changes).
      await chmod(dir, 0o755);
      await rename(dir, trash);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    await rm(this.stampPath(id), { force: true });
    await forceRemove(trash);
  }

  /** A torn or foreign record counts as absent (the stage runs again); an unreadable one is an error. */
  async readCacheRecord(cacheKey: string): Promise<CacheRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.cachePath(cacheKey), 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    try {
      const record = JSON.parse(text) as CacheRecord;
      const outputsOk = record?.outputs && typeof record.outputs === 'object' && Object.values(record.outputs).every((id) => typeof id === 'string');
      return record && typeof record === 'object' && record.cacheKey === cacheKey && outputsOk ? record : undefined;
    } catch {
      return undefined;
    }
  }

  async removeCacheRecord(cacheKey: string): Promise<void> {
    await rm(this.cachePath(cacheKey), { force: true });
  }

  async listCacheKeys(): Promise<string[]> {
    const names = await readdir(join(this.root, 'cache')).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith('.json') && !n.includes('.tmp-')).map((n) => n.slice(0, -5)).filter((k) => KEY_PATTERN.test(k));
  }

  async writeCacheRecord(record: CacheRecord): Promise<void> {
    await writeFileAtomic(this.cachePath(record.cacheKey), `${JSON.stringify(record, null, 2)}\n`);
  }

  /**
   * Deletes what crashed processes left: staging folders under tmp/ and temp files beside cache
   * records, stamps and run records. Each name carries its owner's tag (host, pid, start time):
   * a live owner's are kept, a dead one's go at once, and those of another host or without a tag
   * once older than `maxAgeMs`.
   */
  async cleanTmp(maxAgeMs: number = DAY_MS): Promise<void> {
    await this.sweep(this.tmpDir(), () => true, maxAgeMs);
    for (const folder of TEMP_FILE_FOLDERS) await this.sweep(join(this.root, folder), (name) => name.includes('.tmp-'), maxAgeMs);
  }

  private async sweep(dir: string, isTemp: (name: string) => boolean, maxAgeMs: number): Promise<void> {
    const names = await readdir(dir).catch(() => [] as string[]);
    const now = Date.now();
    for (const name of names.filter(isTemp)) {
      const path = join(dir, name);
      const owner = tagLiveness(name);
      if (owner === 'live') continue;
      if (owner === 'unknown') {
        const info = await stat(path).catch(() => undefined);
        // mtime has sub-millisecond precision and Date.now() does not: floored, a just-written file is 0 ms old, not −0.7.
        if (!info || now - Math.floor(info.mtimeMs) < maxAgeMs) continue;
      }
      await forceRemove(path);
    }
  }
}

function isMissing(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Committed files are read-only (r--r--r--), folders r-x: an artifact is never edited in place by mistake. */
async function makeFilesReadOnly(dir: string, digests: FileDigest[]): Promise<void> {
  const folders = new Set<string>();
  for (const name of [...digests.map((d) => d.name), MANIFEST_FILE]) {
    await chmod(joinAll(dir, name), 0o444);
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(joinAll(dir, parts.slice(0, i).join('/')));
  }
  for (const folder of folders) await chmod(folder, 0o555);
}

async function digestTree(dir: string): Promise<FileDigest[]> {
  const files = await listFilesRecursive(dir).catch((error: unknown) => {
    if (fsErrorCode(error)) throw error;
    throw new Error(`cannot commit ${dir}: ${errorMessage(error)}`);
  });
  if (files.length === 0) throw new Error(`cannot commit ${dir}: it holds no files`);
  if (files.includes(MANIFEST_FILE)) throw new Error(`cannot commit ${dir}: "${MANIFEST_FILE}" is reserved for the store`);
  const digests: FileDigest[] = [];
  for (const name of files) digests.push({ name, ...(await digestFile(joinAll(dir, name))) });
  return digests;
}

async function buildManifest(dir: string, id: string, digests: FileDigest[], info: CommitInfo): Promise<Manifest> {
  // fromEntries defines own properties, so a file named __proto__ or constructor is just a name.
  const files: Record<string, FileEntry> = Object.fromEntries(digests.map((d) => [d.name, { sha256: d.sha256, size: d.size }]));
  const schemas: NonNullable<Manifest['schemas']> = {};
  for (const d of digests) {
    if (d.name.endsWith('.arrow')) Object.defineProperty(schemas, d.name, { value: tableSchemaSummary(await readArrowFile(joinAll(dir, d.name))), enumerable: true });
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

function manifestText(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/**
 * The manifest is not part of the id, so its sha256 is kept in the stamp (taken at commit): a
 * manifest edited since, even into other valid JSON, is corruption too.
 */
function manifestProblem(recorded: Stamp | undefined, sha256: string): string | undefined {
  const trusted = recorded?.[MANIFEST_FILE]?.sha256;
  return trusted && trusted !== sha256 ? 'manifest.json changed since the object was committed' : undefined;
}

function withManifestDigest(stamp: Stamp, recorded: Stamp | undefined, sha256: string): Stamp {
  return { ...stamp, [MANIFEST_FILE]: { ...stamp[MANIFEST_FILE], sha256: recorded?.[MANIFEST_FILE]?.sha256 ?? sha256 } };
}

/** The manifest of an object and the sha256 of its text, undefined if the object is absent. */
async function readManifest(dir: string, id: string): Promise<{ manifest: Manifest; sha256: string } | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (error) {
    // Unreadable (EACCES, EIO, EMFILE) is not corrupt: the caller reports it and deletes nothing.
    if (!isMissing(error)) throw error;
    const folderExists = await stat(dir).then(
      () => true,
      (e: unknown) => {
        if (isMissing(e)) return false;
        throw e;
      },
    );
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
  return { manifest, sha256: sha256Hex(text) };
}

/** Re-hash every file; returns the problem in one sentence, or undefined when all matches the id. */
async function checkContent(dir: string, manifest: Manifest, checkExtraFiles: boolean): Promise<string | undefined> {
  const digests: FileDigest[] = [];
  for (const [name, entry] of Object.entries(manifest.files)) {
    const actual = await digestFile(joinAll(dir, name)).catch((error: unknown) => {
      if (isMissing(error)) return undefined;
      throw error;
    });
    if (!actual) return `file ${name} is missing`;
    if (actual.size !== entry.size) return `file ${name} has ${actual.size} bytes, the manifest says ${entry.size}`;
    if (actual.sha256 !== entry.sha256) return `file ${name} has sha256 ${actual.sha256}, the manifest says ${entry.sha256}`;
    digests.push({ name, ...actual });
  }
  if (hashFileDigests(digests) !== manifest.id) return 'its files do not hash to its id';
  if (checkExtraFiles) {
    const present = (await listFilesRecursive(dir)).filter((f) => f !== MANIFEST_FILE);
    const extra = present.filter((f) => !Object.hasOwn(manifest.files, f));
    if (extra.length > 0) return `it holds files its manifest does not list: ${extra.join(', ')}`;
  }
  return undefined;
}
