import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, stat, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { ArtifactStore, canonicalJson, hashFileDigests, isArtifactId, UserError, type CacheRecord, type FileDigest, type Manifest } from '@lenna/core';
import { MANIFEST, placeEntry } from './layout.js';
import { readTarFile, type TarInEntry } from './tar.js';

/** An archive may unpack to this many times its own size (gzip reaches ~1000× only on degenerate data such as zeros). */
const MAX_RATIO = 200;
const RATIO_SLACK = 256 * 1024 ** 2;
export const DEFAULT_MAX_ENTRIES = 100_000;
/** manifest.json, cache records and lock files are read into memory: no bigger than this. */
const SMALL_FILE_CAP = 16 * 1024 ** 2;

export interface ImportOptions {
  /** Most bytes the archive may unpack to; default 200 × its size + 256 MiB, and never more than the store's disk has free. */
  maxBytes?: number;
  maxEntries?: number;
}

export interface CacheConflict {
  cacheKey: string;
  /** Outputs of the store's own record (kept). */
  local: Record<string, string>;
  /** Outputs of the archive's record (not written). */
  archive: Record<string, string>;
}

export interface ImportResult {
  /** Ids of the artifacts now in the store (imported, or already there), sorted. */
  ids: string[];
  /** Cache keys whose records were written (every output they name is in the store). */
  cacheKeys: string[];
  /** Keys this store already records with other outputs: its own record is kept, the archive's reported here. */
  conflicts: CacheConflict[];
  /** Lock files found in the tar: file name (e.g. `quickstart.lock.json`) to their text; the caller decides where they go. */
  lockFiles: Record<string, string>;
}

interface Incoming {
  id: string;
  /** Files received so far, as written under the import's staging folder. */
  files: Map<string, FileDigest>;
  manifest?: Manifest;
}

/**
 * Reads a tar made by exportArtifacts into a store, streaming: each object file is hashed as it is
 * written to a staging folder, so neither the archive nor a file is ever held whole in memory. Caps
 * on unpacked bytes and entries refuse a bomb at its first header. A link, device, absolute path,
 * '..', an over-long name or any entry landing elsewhere than objects/<id>/, cache/ or pipelines/
 * is refused (UserError naming the entry), as is a file its manifest does not list or whose size or
 * bytes differ, and an artifact whose files do not hash to its id. Only when everything checks out
 * are the artifacts committed through the store; a refused archive leaves the store as it was.
 * Cache records are written for runs whose outputs are all in the store, never over a local record
 * that says otherwise.
 */
export async function importArtifacts(tarFile: string, storeRoot: string, options: ImportOptions = {}): Promise<ImportResult> {
  const where = tarFile;
  const store = new ArtifactStore(storeRoot);
  const maxBytes = options.maxBytes ?? (await defaultMaxBytes(tarFile, store.root));
  const staging = await store.createStaging('import');
  try {
    const incoming = new Map<string, Incoming>();
    const cacheRecords: CacheRecord[] = [];
    const lockFiles = new Map<string, string>();
    const seen = new Set<string>();
    await readTarFile(tarFile, { maxBytes, maxEntries: options.maxEntries ?? DEFAULT_MAX_ENTRIES }, async (entry) => {
      const placed = placeEntry(entry.path, entry.type, where);
      const path = entry.path.replace(/^(\.\/)+/, '');
      if (placed.kind === 'folder') return drain(entry);
      if (seen.has(path)) throw new UserError(`${where}: entry "${path}" appears twice; the archive is ambiguous.`);
      seen.add(path);
      if (placed.kind === 'cache') cacheRecords.push(parseCacheRecord(placed.key, await readSmall(entry, where), where));
      else if (placed.kind === 'lock') lockFiles.set(placed.name, (await readSmall(entry, where)).toString('utf8'));
      else {
        const artifact = incoming.get(placed.id) ?? { id: placed.id, files: new Map<string, FileDigest>() };
        incoming.set(placed.id, artifact);
        if (placed.file === MANIFEST) {
          artifact.manifest = parseManifest(placed.id, await readSmall(entry, where), where);
          for (const [name, digest] of artifact.files) checkListed(artifact, name, digest.size, where);
        } else {
          // With the manifest already read (export writes it first), a lying entry is refused at its header.
          if (artifact.manifest) checkListed(artifact, placed.file, entry.size, where);
          artifact.files.set(placed.file, await receive(entry, join(staging, placed.id, ...placed.file.split('/')), where));
        }
      }
    });
    for (const artifact of incoming.values()) verifyArtifact(artifact, where);

    const ids = [...incoming.keys()].sort();
    for (const id of ids) await commitArtifact(store, join(staging, id), incoming.get(id) as Incoming);
    const { written, conflicts } = await writeCacheRecords(store, cacheRecords);
    return { ids, cacheKeys: written.sort(), conflicts, lockFiles: Object.fromEntries(lockFiles) };
  } finally {
    await store.discardStaging(staging);
  }
}

async function defaultMaxBytes(tarFile: string, storeRoot: string): Promise<number> {
  const size = await stat(tarFile).then(
    (s) => s.size,
    () => 0,
  );
  const byRatio = MAX_RATIO * size + RATIO_SLACK;
  const free = await freeBytes(storeRoot);
  return free === undefined ? byRatio : Math.min(byRatio, free);
}

/** Free bytes on the disk that holds `path` (or its nearest existing parent). */
async function freeBytes(path: string): Promise<number | undefined> {
  for (let dir = path; ; dir = dirname(dir)) {
    const info = await statfs(dir).catch(() => undefined);
    if (info) return info.bavail * info.bsize;
    if (dirname(dir) === dir) return undefined;
  }
}

async function drain(entry: TarInEntry): Promise<void> {
  for await (const _ of entry.stream) {
    // a folder entry has no bytes; anything else is discarded
  }
}

async function readSmall(entry: TarInEntry, where: string): Promise<Buffer> {
  if (entry.size > SMALL_FILE_CAP) throw new UserError(`${where}: entry "${entry.path}" is ${entry.size} bytes; a manifest, cache record or lock file is far smaller, so the archive is refused.`);
  const chunks: Buffer[] = [];
  for await (const chunk of entry.stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Streams the entry into `path`, hashing on the way. */
async function receive(entry: TarInEntry, path: string, where: string): Promise<FileDigest> {
  try {
    await mkdir(dirname(path), { recursive: true });
    const out = createWriteStream(path, { flags: 'wx' });
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of entry.stream) {
      hash.update(chunk);
      size += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await finished(out);
    return { name: path, sha256: hash.digest('hex'), size };
  } catch (error) {
    const code = (error as { code?: string }).code;
    // A file and a folder of one name: the archive contradicts itself.
    if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') throw new UserError(`${where}: entry "${entry.path}" collides with another entry of the same name (a file and a folder); the archive is ambiguous.`);
    throw error;
  }
}

function checkListed(artifact: Incoming, name: string, size: number, where: string): void {
  const manifest = artifact.manifest as Manifest;
  const entry = `objects/${artifact.id}/${name}`;
  if (!Object.hasOwn(manifest.files, name)) throw new UserError(`${where}: entry "${entry}" is not listed in its artifact's manifest.`);
  const listed = manifest.files[name].size;
  if (listed !== size) throw new UserError(`${where}: entry "${entry}" has ${size} bytes, but its manifest says ${listed}; the archive was altered or damaged.`);
}

function parseManifest(id: string, bytes: Buffer, where: string): Manifest {
  const entry = `objects/${id}/${MANIFEST}`;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new UserError(`${where}: entry "${entry}" is not valid JSON.`);
  }
  const m = (value ?? {}) as Partial<Manifest>;
  const filesOk =
    typeof m.files === 'object' &&
    m.files !== null &&
    !Array.isArray(m.files) &&
    Object.entries(m.files).every(([, f]) => typeof f?.sha256 === 'string' && /^[0-9a-f]{64}$/.test(f.sha256) && Number.isSafeInteger(f.size) && f.size >= 0);
  if (typeof value !== 'object' || m.id !== id || !filesOk || typeof m.stage !== 'string' || typeof m.output !== 'string') {
    throw new UserError(`${where}: entry "${entry}" is not the manifest of artifact ${id} (it needs id, stage, output and files: name -> {sha256, size}).`);
  }
  return value as Manifest;
}

/** Every file against its manifest (set of names, sizes, sha256) and the whole against the id, as the store hashes it. */
function verifyArtifact(artifact: Incoming, where: string): void {
  const manifest = artifact.manifest;
  if (!manifest) throw new UserError(`${where}: artifact ${artifact.id} has no objects/${artifact.id}/${MANIFEST}; every artifact travels with its manifest.`);
  if (Object.keys(manifest.files).length === 0) throw new UserError(`${where}: entry "objects/${artifact.id}/${MANIFEST}" lists no files; an artifact holds at least one.`);
  const digests: FileDigest[] = [];
  for (const [name, listed] of Object.entries(manifest.files)) {
    const entry = `objects/${artifact.id}/${name}`;
    const got = artifact.files.get(name);
    if (!got) throw new UserError(`${where}: entry "${entry}" is missing, but the artifact's manifest lists it.`);
    if (got.size !== listed.size || got.sha256 !== listed.sha256) {
      throw new UserError(`${where}: entry "${entry}" has sha256 ${got.sha256} (${got.size} bytes), but its manifest says ${listed.sha256} (${listed.size} bytes); the archive was altered or damaged.`);
    }
    digests.push({ name, sha256: got.sha256, size: got.size });
  }
  if (hashFileDigests(digests) !== artifact.id) {
    throw new UserError(`${where}: the files under "objects/${artifact.id}/" do not hash to ${artifact.id}; the archive was altered or damaged.`);
  }
}

async function commitArtifact(store: ArtifactStore, dir: string, artifact: Incoming): Promise<void> {
  // The store recomputes files, schemas and createdAt; everything else is the producer's record.
  const { id: _id, files: _files, schemas: _schemas, formatVersion: _version, createdAt: _created, ...info } = artifact.manifest as Manifest;
  const committed = await store.commit(dir, info);
  if (committed.id !== artifact.id) {
    // Cannot happen after verifyArtifact (same hash as the store's); kept so a drift between the two fails loudly.
    throw new Error(`imported artifact ${artifact.id} was stored as ${committed.id}`);
  }
}

function parseCacheRecord(key: string, data: Buffer, where: string): CacheRecord {
  const entry = `cache/${key}.json`;
  try {
    const record = JSON.parse(data.toString('utf8')) as CacheRecord;
    const outputs = record?.outputs;
    if (record.cacheKey === key && outputs && typeof outputs === 'object' && Object.values(outputs).every((id) => typeof id === 'string' && isArtifactId(id))) return record;
  } catch {
    // fall through to the one error below
  }
  throw new UserError(`${where}: entry "${entry}" is not a cache record for key ${key} (JSON with cacheKey and outputs: name -> artifact id).`);
}

async function writeCacheRecords(store: ArtifactStore, records: CacheRecord[]): Promise<{ written: string[]; conflicts: CacheConflict[] }> {
  const written: string[] = [];
  const conflicts: CacheConflict[] = [];
  for (const record of records) {
    const present = await Promise.all(Object.values(record.outputs).map(async (id) => (await store.open(id).catch(() => undefined)) !== undefined));
    if (!present.every(Boolean)) continue;
    const local = await store.readCacheRecord(record.cacheKey);
    if (local && canonicalJson(local.outputs) !== canonicalJson(record.outputs)) {
      conflicts.push({ cacheKey: record.cacheKey, local: local.outputs, archive: record.outputs });
      continue;
    }
    if (!local) await store.writeCacheRecord(record);
    written.push(record.cacheKey);
  }
  return { written, conflicts };
}
