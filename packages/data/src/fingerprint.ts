import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CIFAR_FILES, CIFAR_RECORDS_PER_BATCH, CIFAR_RECORD_BYTES } from './cifar.js';
import { UserError } from './errors.js';
import { fashionMnistFiles } from './fashion-mnist.js';
import type { DatasetSpec } from './types.js';

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
 * A cheap fingerprint of data files for the cache key, without reading them whole: sha256 over the
 * canonical JSON of each file's name, size, mtime (ms) and the sha256 of its first and last KB.
 */
async function fingerprintFiles(files: string[]): Promise<string> {
  const entries = [];
  for (const file of files) {
    const info = await stat(file);
    entries.push({ name: basename(file), size: info.size, mtimeMs: Math.trunc(info.mtimeMs), edges: await edgesDigest(file, info.size) });
  }
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}

/** The fingerprint of a CIFAR-10 folder's six official files; a missing one is a UserError. */
export async function fingerprintCifarFolder(path: string): Promise<string> {
  const files = CIFAR_FILES.map((name) => join(path, name));
  for (const file of files) {
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      throw new UserError(
        `CIFAR-10 file ${file} is missing; expected the official binary batch of ${CIFAR_RECORDS_PER_BATCH * CIFAR_RECORD_BYTES} bytes.`,
      );
    }
  }
  return fingerprintFiles(files);
}

/**
 * The fingerprint of the files a data set reads from outside the store (cifar10's folder,
 * fashion-mnist's, default path included), for a stage's `externalFingerprint`; undefined for sets
 * that live in the repository or are generated (mnist, synthetic) and for cifar10 without a path.
 */
export async function fingerprintDatasetFiles(spec: Pick<DatasetSpec, 'name' | 'path'>): Promise<string | undefined> {
  if (spec.name === 'cifar10') return spec.path ? fingerprintCifarFolder(spec.path) : undefined;
  if (spec.name === 'fashion-mnist') return fingerprintFiles(await fashionMnistFiles(spec.path));
  return undefined;
}
