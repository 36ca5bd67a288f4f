import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { rememberedDigest } from '@lenna/core';
import { CIFAR_FILES, CIFAR_RECORDS_PER_BATCH, CIFAR_RECORD_BYTES } from './cifar.js';
import { UserError } from './errors.js';
import type { DatasetSpec } from './types.js';

/**
 * The content of a CIFAR-10 folder for the cache key: sha256 over each expected file's name, size and
 * sha256. Neither the folder's path nor file times count, so a copy elsewhere (another machine, an
 * imported store) gives the same fingerprint. Each file is hashed once and then remembered by its stat
 * (core's rememberedDigest), so later runs cost a stat per file.
 */
export async function fingerprintCifarFolder(path: string, memoPath?: string): Promise<string> {
  const files = [];
  for (const name of CIFAR_FILES) {
    const file = join(path, name);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      throw new UserError(
        `CIFAR-10 file ${file} is missing; expected the official binary batch of ${CIFAR_RECORDS_PER_BATCH * CIFAR_RECORD_BYTES} bytes.`,
      );
    }
    files.push({ name, ...(await rememberedDigest(file, memoPath)) });
  }
  return createHash('sha256').update(JSON.stringify(files)).digest('hex');
}

/**
 * A stage's externalFingerprint for a data set param: the content of the files it reads from outside
 * the store (cifar10's folder); undefined for sets in the repository or generated.
 */
export async function fingerprintDatasetFiles(spec: Pick<DatasetSpec, 'name' | 'path'>): Promise<string | undefined> {
  return spec.name === 'cifar10' && spec.path ? fingerprintCifarFolder(spec.path) : undefined;
}

/** Data sets whose files fingerprintDatasetFiles keys by content: their path need not enter the cache key. */
const CONTENT_KEYED: ReadonlySet<string> = new Set(['cifar10']);

/** A data set param as it enters the cache key (a stage's keyParams): without the folder path that fingerprintDatasetFiles stands for. */
export function portableDatasetSpec<T extends Pick<DatasetSpec, 'name' | 'path'>>(spec: T): T {
  if (!CONTENT_KEYED.has(spec.name) || !spec.path) return spec;
  const { path: _path, ...rest } = spec;
  return rest as T;
}
