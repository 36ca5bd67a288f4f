import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { UserError } from '@lenna/core';

/**
 * The tar format, on tar-stream: entries streamed in and out (a file is never held whole in
 * memory, so archives and artifacts over 2 GiB work), gzip on request, and on reading the caps that
 * make a hostile archive cheap to refuse. What the entries mean is archive/export.ts's and
 * archive/import.ts's business.
 */

export interface TarOutEntry {
  path: string;
  size: number;
  /** The entry's bytes, read lazily. */
  chunks(): AsyncIterable<Uint8Array>;
  /** When given, the bytes are checked against it on the way out. */
  sha256?: string;
}

/** An entry whose bytes no longer match what the caller promised (size or sha256). */
export class EntryChangedError extends Error {
  constructor(readonly path: string) {
    super(`${path} changed while it was written to the archive`);
    this.name = 'EntryChangedError';
  }
}

const READ_CHUNK = 1024 * 1024;

export async function* fileChunks(file: string): AsyncIterable<Uint8Array> {
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

export function bytesEntry(path: string, data: Buffer): TarOutEntry {
  return {
    path,
    size: data.length,
    async *chunks() {
      yield data;
    },
  };
}

/**
 * Writes the entries, in the order given, as a POSIX tar (PAX records for long names) with zero
 * times and owners, so the same entries give the same bytes. The file appears atomically.
 */
export async function writeTarFile(file: string, entries: TarOutEntry[], options: { gzip: boolean }): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}`;
  const pack = tar.pack();
  const produce = (async () => {
    for (const entry of entries) await writeEntry(pack, entry);
    pack.finalize();
  })().catch((error: unknown) => {
    pack.destroy(error as Error);
    throw error;
  });
  try {
    const sink = createWriteStream(temp);
    const written = options.gzip ? pipeline(pack as unknown as Readable, createGzip(), sink) : pipeline(pack as unknown as Readable, sink);
    await Promise.all([produce, written]);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function writeEntry(pack: tar.Pack, entry: TarOutEntry): Promise<void> {
  let done!: (error?: Error | null) => void;
  const finished = new Promise<void>((resolve, reject) => (done = (error) => (error ? reject(error) : resolve())));
  const sink = pack.entry({ name: entry.path, size: entry.size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '', type: 'file' }, done);
  const hash = createHash('sha256');
  let written = 0;
  for await (const chunk of entry.chunks()) {
    written += chunk.length;
    if (written > entry.size) break;
    hash.update(chunk);
    if (!sink.write(chunk)) await once(sink as unknown as NodeJS.EventEmitter, 'drain');
  }
  if (written !== entry.size || (entry.sha256 && hash.digest('hex') !== entry.sha256)) {
    const error = new EntryChangedError(entry.path);
    sink.destroy(error);
    throw error;
  }
  sink.end();
  await finished;
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface TarInEntry {
  path: string;
  /** tar-stream's type: 'file', 'directory', 'symlink', 'link', 'character-device', ... */
  type: string;
  size: number;
  /** The entry's bytes; must be read to the end (or the whole read is abandoned by throwing). */
  stream: AsyncIterable<Buffer>;
}

export interface TarLimits {
  /** Most bytes the archive may unpack to (the sizes its headers declare, summed). */
  maxBytes: number;
  maxEntries: number;
}

/**
 * Calls `onEntry` for each entry, one at a time, streaming. Before an entry's bytes are read, its
 * declared size counts against `maxBytes` and the entry against `maxEntries`: a decompression bomb
 * or a flood of entries is refused at its first header over the cap, before anything is unpacked.
 */
export async function readTarFile(file: string, limits: TarLimits, onEntry: (entry: TarInEntry) => Promise<void>): Promise<void> {
  const gzipped = await isGzip(file);
  const extract = tar.extract();
  const source = createReadStream(file);
  const feeding = (gzipped ? pipeline(source, createGunzip(), extract as unknown as NodeJS.WritableStream) : pipeline(source, extract as unknown as NodeJS.WritableStream)).catch(
    (error: unknown) => {
      extract.destroy(error as Error);
    },
  );
  let bytes = 0;
  let entries = 0;
  try {
    for await (const raw of extract as unknown as AsyncIterable<tar.Entry & AsyncIterable<Buffer>>) {
      const header = raw.header;
      entries += 1;
      bytes += header.size ?? 0;
      if (entries > limits.maxEntries) throw new UserError(`${file}: more than ${limits.maxEntries} entries; an export holds far fewer, so the archive is refused (raise the cap with --max-entries if it is genuine).`);
      if (bytes > limits.maxBytes) {
        throw new UserError(`${file}: entry "${header.name}" takes the archive past ${limits.maxBytes} unpacked bytes (a decompression bomb?); refused before unpacking it (raise the cap with --max-bytes if the archive is genuine).`);
      }
      await onEntry({ path: header.name, type: header.type ?? 'file', size: header.size ?? 0, stream: raw });
    }
  } catch (error) {
    source.destroy();
    extract.destroy();
    await feeding;
    throw describeTarError(file, error);
  }
  await feeding;
}

async function isGzip(file: string): Promise<boolean> {
  let handle;
  try {
    if (!(await stat(file)).isFile()) throw new Error('not a file');
    handle = await open(file, 'r');
  } catch (error) {
    throw new UserError(`cannot read ${file} (${(error as Error).message}); give the path of a tar made by \`lenna export\`.`);
  }
  try {
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    return head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

function describeTarError(file: string, error: unknown): unknown {
  if (error instanceof UserError || !(error instanceof Error)) return error;
  const message = error.message;
  if (/Invalid tar header|checksum/i.test(message)) return new UserError(`${file}: a header's checksum is wrong; the file is not a tar archive or is damaged.`);
  if (/Unexpected end of data|premature|truncated/i.test(message)) return new UserError(`${file}: the archive ends in the middle of an entry; it is truncated.`);
  if ((error as { code?: string }).code?.startsWith('Z_') || /incorrect header check|unexpected end of file|invalid (block|distance|code)/i.test(message)) {
    return new UserError(`${file} looks gzipped but does not decompress (${message}); it is damaged.`);
  }
  return error;
}
