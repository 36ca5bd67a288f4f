import { createHash } from 'node:crypto';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * JSON with object keys sorted recursively and no whitespace, so equal values hash equally.
 * `undefined` object members are dropped (as JSON.stringify does); NaN and Infinity are rejected
 * because JSON cannot represent them and silently writing `null` would merge distinct cache keys.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$');
}

function encode(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`canonicalJson: ${path} is ${value}, which JSON cannot represent`);
      return JSON.stringify(value);
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'bigint':
      return value.toString();
    case 'object':
      return Array.isArray(value) ? encodeArray(value, path) : encodeObject(value as Record<string, unknown>, path);
    default:
      throw new Error(`canonicalJson: ${path} is a ${typeof value}, which JSON cannot represent`);
  }
}

function encodeArray(items: unknown[], path: string): string {
  // Like JSON.stringify, holes and undefined inside arrays become null so positions are kept.
  return `[${items.map((item, i) => (item === undefined ? 'null' : encode(item, `${path}[${i}]`))).join(',')}]`;
}

function encodeObject(object: Record<string, unknown>, path: string): string {
  const withToJson = object as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return encode(withToJson.toJSON(), path);
  const keys = Object.keys(object).filter((k) => object[k] !== undefined).sort(compareCodeUnits);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${encode(object[k], `${path}.${k}`)}`).join(',')}}`;
}

/** Plain code-unit order (what Array.prototype.sort does), spelled out so it is independent of locale. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

const READ_CHUNK = 4 * 1024 * 1024;

/** sha256 of a file's bytes, read in large chunks into one reused buffer (no stream overhead). */
export async function hashFile(path: string): Promise<string> {
  return (await digestFile(path)).sha256;
}

/** sha256 and byte count of a file, from one pass over its bytes. */
export async function digestFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, READ_CHUNK, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return { sha256: hash.digest('hex'), size };
}

/** Every regular file under `dir`, as sorted '/'-separated relative paths. */
export async function listFilesRecursive(dir: string, exclude: string[] = []): Promise<string[]> {
  const out: string[] = [];
  await walk(dir, '', exclude, out);
  return out.sort(compareCodeUnits);
}

async function walk(root: string, prefix: string, exclude: string[], out: string[]): Promise<void> {
  const entries = await readdir(join(root, prefix), { withFileTypes: true });
  for (const entry of entries) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (isExcluded(rel, entry.name, exclude)) continue;
    if (entry.isDirectory()) await walk(root, rel, exclude, out);
    else if (entry.isFile()) out.push(rel);
    else throw new Error(`${join(root, rel)} is neither a file nor a folder (links are not allowed)`);
  }
}

/** An exclude entry matches a path segment name, a whole relative path, or a `*.suffix` pattern. */
function isExcluded(rel: string, name: string, exclude: string[]): boolean {
  return exclude.some((pattern) =>
    pattern.startsWith('*') ? name.endsWith(pattern.slice(1)) : pattern === name || pattern === rel,
  );
}

/**
 * One hash over a folder: sha256 of each file's relative path, size and own sha256, in sorted path
 * order. Used for code fingerprints (a package's dist/) and for artifact ids.
 */
export async function hashDirectory(dir: string, opts: { exclude?: string[] } = {}): Promise<string> {
  const files = await listFilesRecursive(dir, opts.exclude ?? []);
  const entries: FileDigest[] = [];
  for (const rel of files) entries.push({ name: rel, ...(await digestFile(join(dir, rel))) });
  return hashFileDigests(entries);
}

export interface FileDigest {
  name: string;
  sha256: string;
  size: number;
}

/** The id of a set of files: names are part of it, so renaming a file changes the id. */
export function hashFileDigests(entries: FileDigest[]): string {
  const sorted = [...entries].sort((a, b) => compareCodeUnits(a.name, b.name));
  return sha256Hex(sorted.map((e) => `${e.name}\0${e.size}\0${e.sha256}\n`).join(''));
}
