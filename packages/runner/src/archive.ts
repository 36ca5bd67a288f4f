import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip, gunzip } from 'node:zlib';
import {
  ArtifactStore,
  CorruptArtifactError,
  hashFileDigests,
  isArtifactId,
  UserError,
  type CacheRecord,
  type FileDigest,
  type Manifest,
} from '@lenna/core';
import { readLockFile } from './lockfile.js';

/**
 * `lenna export` / `lenna import`: artifacts moved between stores as one POSIX (ustar) tar,
 * optionally gzipped. Layout inside the tar:
 *   objects/<id>/manifest.json, objects/<id>/<file>   every file of each artifact
 *   cache/<cacheKey>.json                              the store's cache records of the runs that made them
 *   pipelines/<name>.lock.json                         the pipeline's lock file, when given
 * Export writes entries in sorted order with zero times and owners, so the same artifacts give the same bytes.
 */

const BLOCK = 512;
const MANIFEST = 'manifest.json';
const READ_CHUNK = 1024 * 1024;
const CACHE_KEY = /^[A-Za-z0-9._-]+$/;
const LOCK_NAME = /^[A-Za-z0-9._-]+\.lock\.json$/;

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

export interface ImportResult {
  /** Ids of the artifacts now in the store (imported, or already there), sorted. */
  ids: string[];
  /** Cache keys whose records were written (every output they name is in the store). */
  cacheKeys: string[];
  /** Lock files found in the tar: file name (e.g. `quickstart.lock.json`) to their text; the caller decides where they go. */
  lockFiles: Record<string, string>;
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

// ---------------------------------------------------------------------------------------------
// Writing

interface OutEntry {
  path: string;
  size: number;
  /** Yields the entry's bytes (read lazily, so large weights stream through). */
  chunks: () => AsyncIterable<Uint8Array>;
  /** For store files: the sha256 the manifest promises, checked while the bytes stream out. */
  sha256?: string;
}

function writeOctal(header: Buffer, offset: number, width: number, value: number): void {
  // width - 1 octal digits then NUL, as ustar expects.
  header.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'ascii');
}

/** PAX extended header record `"<len> path=<value>\n"`, where <len> counts the whole record. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length += 1;
  return Buffer.from(`${length}${body}`, 'utf8');
}

function tarHeader(name: string, size: number, type: '0' | 'x'): Buffer {
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, 'utf8');
  writeOctal(header, 100, 8, 0o644);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, 0);
  header.write(type, 156, 1, 'ascii');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.fill(' ', 148, 156);
  const sum = header.reduce((total, byte) => total + byte, 0);
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return header;
}

const MAX_USTAR_SIZE = 8 ** 11 - 1;

/** Header block(s) for one file; a path longer than the 100-byte name field goes in a PAX record. */
function headersFor(path: string, size: number): Buffer[] {
  if (size > MAX_USTAR_SIZE) throw new Error(`${path} is ${size} bytes, more than a ustar entry holds (8 GiB)`);
  if (Buffer.byteLength(path) <= 100) return [tarHeader(path, size, '0')];
  const record = paxRecord('path', path);
  return [tarHeader('PaxHeader', record.length, 'x'), ...padded(record), tarHeader(path.slice(0, 100), size, '0')];
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

function padded(data: Buffer): Buffer[] {
  return [data, padding(data.length)];
}

async function* fileChunks(file: string): AsyncIterable<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(READ_CHUNK);
      const { bytesRead } = await handle.read(buffer, 0, READ_CHUNK, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

function bytesEntry(path: string, data: Buffer): OutEntry {
  return {
    path,
    size: data.length,
    async *chunks() {
      yield data;
    },
  };
}

async function* tarStream(entries: OutEntry[], artifactOf: (path: string) => string): AsyncIterable<Uint8Array> {
  for (const entry of entries) {
    yield* headersFor(entry.path, entry.size);
    const hash = createHash('sha256');
    let written = 0;
    for await (const chunk of entry.chunks()) {
      hash.update(chunk);
      written += chunk.length;
      yield chunk;
    }
    if (written !== entry.size || (entry.sha256 && hash.digest('hex') !== entry.sha256)) {
      throw new CorruptArtifactError(artifactOf(entry.path), `${entry.path} no longer matches its manifest`);
    }
    yield padding(entry.size);
  }
  yield Buffer.alloc(2 * BLOCK);
}

async function artifactEntries(store: ArtifactStore, id: string): Promise<{ entries: OutEntry[]; manifest: Manifest }> {
  if (!isArtifactId(id)) throw new UserError(`"${id}" is not an artifact id (64 lowercase hex digits); export takes ids from a lock file or \`lenna store list\`.`);
  const artifact = await store.open(id);
  if (!artifact) throw new UserError(`artifact ${id} is not in the store at ${store.root}; run the pipeline (or import it) before exporting.`);
  const manifestBytes = await readFile(join(artifact.dir, MANIFEST));
  const entries: OutEntry[] = [bytesEntry(`objects/${id}/${MANIFEST}`, manifestBytes)];
  for (const name of [...artifact.files].sort()) {
    const file = join(artifact.dir, ...name.split('/'));
    const { size, sha256 } = artifact.manifest.files[name];
    entries.push({ path: `objects/${id}/${name}`, size, sha256, chunks: () => fileChunks(file) });
  }
  return { entries, manifest: artifact.manifest };
}

/**
 * Pack artifacts (every file plus manifest.json), the cache records of the runs that made them, and
 * optionally a lock file into one tar. Each file is re-hashed on the way out: a corrupt artifact
 * fails the export instead of travelling. The tar appears atomically (temp file, then rename).
 */
export async function exportArtifacts(storeRoot: string, ids: string[], tarFile: string, options: ExportOptions = {}): Promise<ExportResult> {
  const store = new ArtifactStore(storeRoot);
  const unique = [...new Set(ids)].sort();
  const entries: OutEntry[] = [];
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
  await mkdir(dirname(tarFile), { recursive: true });
  const temp = `${tarFile}.tmp-${process.pid}`;
  const artifactOf = (path: string) => path.split('/')[1] ?? path;
  try {
    const source = Readable.from(tarStream(entries, artifactOf));
    if (gzip) await pipeline(source, createGzip(), createWriteStream(temp));
    else await pipeline(source, createWriteStream(temp));
    await rename(temp, tarFile);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return { ids: unique, entries: entries.length };
}

// ---------------------------------------------------------------------------------------------
// Reading

interface TarEntry {
  path: string;
  /** ustar typeflag: '0' file, '5' folder, ... */
  type: string;
  data: Buffer;
}

function readString(block: Buffer, offset: number, width: number): string {
  const field = block.subarray(offset, offset + width);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? width : end).toString('utf8');
}

function readOctal(block: Buffer, offset: number, width: number, where: string): number {
  const text = readString(block, offset, width).trim();
  if (!/^[0-7]*$/.test(text)) throw new UserError(`${where}: header field "${text}" is not an octal number; the file is not a tar archive or is damaged.`);
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumOk(block: Buffer, where: string): boolean {
  const stored = readOctal(block, 148, 8, where);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return sum === stored;
}

/** The `path` value of a PAX extended header (records: "<length> <key>=<value>\n", length counting the whole record). */
function paxPath(data: Buffer): string | undefined {
  let path: string | undefined;
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const length = space < 0 ? NaN : Number(data.subarray(pos, space).toString('ascii'));
    if (!Number.isInteger(length) || length <= space - pos || pos + length > data.length) break;
    const record = data.subarray(space + 1, pos + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    pos += length;
  }
  return path;
}

/** Every entry of a tar (PAX and GNU long names folded into the entry they name), nothing written anywhere. */
export function parseTar(bytes: Buffer, where: string): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= bytes.length) {
    const block = bytes.subarray(offset, offset + BLOCK);
    if (block.every((b) => b === 0)) break;
    const at = `${where} at byte ${offset}`;
    if (!checksumOk(block, at)) throw new UserError(`${at}: the header checksum is wrong; the file is not a tar archive or is damaged.`);
    const size = readOctal(block, 124, 12, at);
    const type = String.fromCharCode(block[156] || 0x30);
    const prefix = readString(block, 257, 6) === 'ustar' ? readString(block, 345, 155) : '';
    const name = readString(block, 0, 100);
    const start = offset + BLOCK;
    if (start + size > bytes.length) throw new UserError(`${at}: entry "${name}" runs past the end of the file; the archive is truncated.`);
    const data = bytes.subarray(start, start + size);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') longName = paxPath(data) ?? longName;
    else if (type === 'L') longName = readString(data, 0, data.length);
    else if (type !== 'g') {
      entries.push({ path: longName ?? (prefix ? `${prefix}/${name}` : name), type, data });
      longName = undefined;
    }
  }
  return entries;
}

const TYPE_NAMES: Record<string, string> = { '1': 'a hard link', '2': 'a symbolic link', '3': 'a character device', '4': 'a block device', '6': 'a FIFO' };

type Placed =
  | { kind: 'object'; id: string; file: string }
  | { kind: 'cache'; key: string }
  | { kind: 'lock'; name: string }
  | { kind: 'folder' };

/** Where an entry would land, or a UserError naming it if anywhere but objects/, cache/ or pipelines/. */
function placeEntry(entry: TarEntry, where: string): Placed {
  const refuse = (why: string) => new UserError(`${where}: entry "${entry.path}" ${why}; import accepts only objects/<id>/<file>, cache/<key>.json and pipelines/<name>.lock.json.`);
  if (TYPE_NAMES[entry.type]) throw refuse(`is ${TYPE_NAMES[entry.type]}, which import never creates`);
  if (entry.type !== '0' && entry.type !== '7' && entry.type !== '5') throw refuse(`has tar type '${entry.type}', which import does not accept`);
  const path = entry.path.replace(/^(\.\/)+/, '');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) throw refuse('is an absolute path');
  // eslint-disable-next-line no-control-regex
  if (path.includes('\\') || /[\u0000-\u001f]/.test(path)) throw refuse('has a backslash or control character in its path');
  const parts = path.replace(/\/$/, '').split('/');
  if (parts.some((p) => p === '..')) throw refuse("contains '..'");
  if (parts.some((p) => p === '' || p === '.')) throw refuse('has an empty or "." path segment');
  if (entry.type === '5') {
    const folderOk = (parts[0] === 'objects' && (parts.length === 1 || isArtifactId(parts[1]))) || (parts.length === 1 && (parts[0] === 'cache' || parts[0] === 'pipelines'));
    if (!folderOk) throw refuse('is a folder outside objects/<id>/, cache/ and pipelines/');
    return { kind: 'folder' };
  }
  if (parts[0] === 'objects' && parts.length >= 3 && isArtifactId(parts[1])) return { kind: 'object', id: parts[1], file: parts.slice(2).join('/') };
  if (parts[0] === 'cache' && parts.length === 2 && parts[1].endsWith('.json') && CACHE_KEY.test(parts[1].slice(0, -5))) return { kind: 'cache', key: parts[1].slice(0, -5) };
  if (parts[0] === 'pipelines' && parts.length === 2 && LOCK_NAME.test(parts[1])) return { kind: 'lock', name: parts[1] };
  throw refuse('lands outside objects/<id>/, cache/ and pipelines/');
}

interface IncomingArtifact {
  id: string;
  files: Map<string, Buffer>;
}

function parseManifest(artifact: IncomingArtifact, where: string): Manifest {
  const entry = `objects/${artifact.id}/${MANIFEST}`;
  const bytes = artifact.files.get(MANIFEST);
  if (!bytes) throw new UserError(`${where}: artifact ${artifact.id} has no ${entry}; every artifact travels with its manifest.`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(bytes.toString('utf8')) as Manifest;
  } catch {
    throw new UserError(`${where}: entry "${entry}" is not valid JSON.`);
  }
  const fields = manifest && typeof manifest === 'object' ? manifest : ({} as Manifest);
  if (fields.id !== artifact.id || typeof fields.files !== 'object' || fields.files === null || typeof fields.stage !== 'string' || typeof fields.output !== 'string') {
    throw new UserError(`${where}: entry "${entry}" is not the manifest of artifact ${artifact.id} (it needs id, stage, output and files).`);
  }
  return manifest;
}

/** Every file against its manifest (set of names, sizes, sha256) and the whole against the id, as the store hashes it. */
function verifyArtifact(artifact: IncomingArtifact, manifest: Manifest, where: string): void {
  const listed = Object.keys(manifest.files);
  const present = [...artifact.files.keys()].filter((f) => f !== MANIFEST);
  const extra = present.filter((f) => !(f in manifest.files));
  if (extra.length > 0) throw new UserError(`${where}: entry "objects/${artifact.id}/${extra[0]}" is not listed in its artifact's manifest.`);
  const digests: FileDigest[] = [];
  for (const name of listed) {
    const entry = `objects/${artifact.id}/${name}`;
    const data = artifact.files.get(name);
    if (!data) throw new UserError(`${where}: entry "${entry}" is missing, but the artifact's manifest lists it.`);
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (data.length !== manifest.files[name].size || sha256 !== manifest.files[name].sha256) {
      throw new UserError(`${where}: entry "${entry}" has sha256 ${sha256} (${data.length} bytes), but its manifest says ${manifest.files[name].sha256} (${manifest.files[name].size} bytes); the archive was altered or damaged.`);
    }
    digests.push({ name, sha256, size: data.length });
  }
  if (hashFileDigests(digests) !== artifact.id) {
    throw new UserError(`${where}: the files under "objects/${artifact.id}/" do not hash to ${artifact.id}; the archive was altered or damaged.`);
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

async function readTarBytes(tarFile: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(tarFile);
  } catch (error) {
    throw new UserError(`cannot read ${tarFile} (${(error as Error).message}); give the path of a tar made by \`lenna export\`.`);
  }
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return await promisify(gunzip)(bytes);
  } catch (error) {
    throw new UserError(`${tarFile} looks gzipped but does not decompress (${(error as Error).message}).`);
  }
}

async function commitArtifact(store: ArtifactStore, artifact: IncomingArtifact, manifest: Manifest): Promise<void> {
  const staging = await store.createStaging(`import-${artifact.id.slice(0, 12)}`);
  try {
    for (const [name, data] of artifact.files) {
      if (name === MANIFEST) continue;
      const path = join(staging, ...name.split('/'));
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, data);
    }
    // The store recomputes files, schemas and createdAt; everything else is the producer's record.
    const { id: _id, files: _files, schemas: _schemas, formatVersion: _version, createdAt: _created, ...info } = manifest;
    const committed = await store.commit(staging, info);
    if (committed.id !== artifact.id) {
      // Cannot happen after verifyArtifact (same hash as the store's); kept so a drift between the two fails loudly.
      throw new Error(`imported artifact ${artifact.id} was stored as ${committed.id}`);
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Read a tar made by exportArtifacts into a store. Everything is checked before anything is
 * written: a link, device, absolute path, '..' or any entry landing elsewhere than objects/<id>/,
 * cache/ or pipelines/ is refused (UserError naming the entry), as is any file whose bytes do not
 * match its manifest or an artifact whose files do not hash to its id. Artifacts are then committed
 * through the store (so ids hold by construction), and cache records are written for runs whose
 * outputs are all in the store.
 */
export async function importArtifacts(tarFile: string, storeRoot: string): Promise<ImportResult> {
  const where = tarFile;
  const entries = parseTar(await readTarBytes(tarFile), where);
  const artifacts = new Map<string, IncomingArtifact>();
  const cacheRecords: CacheRecord[] = [];
  const lockFiles: Record<string, string> = {};
  const seen = new Set<string>();
  for (const entry of entries) {
    const placed = placeEntry(entry, where);
    if (placed.kind === 'folder') continue;
    if (seen.has(entry.path)) throw new UserError(`${where}: entry "${entry.path}" appears twice; the archive is ambiguous.`);
    seen.add(entry.path);
    if (placed.kind === 'object') {
      const artifact = artifacts.get(placed.id) ?? { id: placed.id, files: new Map<string, Buffer>() };
      artifact.files.set(placed.file, entry.data);
      artifacts.set(placed.id, artifact);
    } else if (placed.kind === 'cache') cacheRecords.push(parseCacheRecord(placed.key, entry.data, where));
    else lockFiles[placed.name] = entry.data.toString('utf8');
  }
  const manifests = new Map<string, Manifest>();
  for (const artifact of artifacts.values()) {
    const manifest = parseManifest(artifact, where);
    verifyArtifact(artifact, manifest, where);
    manifests.set(artifact.id, manifest);
  }

  const store = new ArtifactStore(storeRoot);
  const ids = [...artifacts.keys()].sort();
  for (const id of ids) await commitArtifact(store, artifacts.get(id) as IncomingArtifact, manifests.get(id) as Manifest);
  const cacheKeys: string[] = [];
  for (const record of cacheRecords) {
    const present = await Promise.all(Object.values(record.outputs).map(async (id) => (await store.open(id)) !== undefined));
    if (present.every(Boolean)) {
      await store.writeCacheRecord(record);
      cacheKeys.push(record.cacheKey);
    }
  }
  return { ids, cacheKeys: cacheKeys.sort(), lockFiles };
}
