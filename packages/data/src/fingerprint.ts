import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CIFAR_FILES, CIFAR_RECORDS_PER_BATCH, CIFAR_RECORD_BYTES } from './cifar.js';
import { UserError } from './errors.js';

const EDGE_BYTES = 1024;

async function edgesDigest(file: string, size: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(EDGE_BYTES, size));
    const tail = Buffer.alloc(Math.min(EDGE_BYTES, size));
    await handle.read(head, 0, head.length, 0);
    await handle.read(tail, 0, tail.length, size - tail.length);
    return createHash('sha256').update(head).update(tail).digest('hex');
  } finally {
    await handle.close();
  }
}

/**
 * A cheap fingerprint of a CIFAR-10 folder for the cache key, without reading 180 MB: sha256 over the
 * canonical JSON of each expected file's name, size, mtime (ms) and the sha256 of its first and last KB.
 */
export async function fingerprintCifarFolder(path: string): Promise<string> {
  const files = [];
  for (const name of CIFAR_FILES) {
    const file = join(path, name);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      throw new UserError(
        `CIFAR-10 file ${file} is missing; expected the official binary batch of ${CIFAR_RECORDS_PER_BATCH * CIFAR_RECORD_BYTES} bytes.`,
      );
    }
    files.push({ name, size: info.size, mtimeMs: Math.trunc(info.mtimeMs), edges: await edgesDigest(file, info.size) });
  }
  return createHash('sha256').update(JSON.stringify(files)).digest('hex');
}
