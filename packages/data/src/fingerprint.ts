import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { rememberedDigest } from '@lenna/core';
import { CIFAR_FILES, CIFAR_RECORDS_PER_BATCH, CIFAR_RECORD_BYTES } from './cifar.js';
import { UserError } from './errors.js';
import { fashionMnistFiles } from './fashion-mnist.js';
import type { DatasetSpec } from './types.js';

/**
 * The content of data files for the cache key: sha256 over each file's name, size and sha256. Neither
 * the folder's path nor file times count, so a copy elsewhere (another machine, an imported store)
 * gives the same fingerprint. Each file is hashed once and then remembered by its stat (core's
 * rememberedDigest), so later runs cost a stat per file.
 */
async function fingerprintFiles(files: string[], memoPath?: string): Promise<string> {
  const entries = [];
  for (const file of files) entries.push({ name: basename(file), ...(await rememberedDigest(file, memoPath)) });
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}

/** The content fingerprint of a CIFAR-10 folder's six official files; a missing one is a UserError. */
export async function fingerprintCifarFolder(path: string, memoPath?: string): Promise<string> {
  const files = CIFAR_FILES.map((name) => join(path, name));
  for (const file of files) {
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      throw new UserError(
        `CIFAR-10 file ${file} is missing; expected the official binary batch of ${CIFAR_RECORDS_PER_BATCH * CIFAR_RECORD_BYTES} bytes.`,
      );
    }
  }
  return fingerprintFiles(files, memoPath);
}

/**
 * A stage's externalFingerprint for a data set param: the content of the files it reads from outside
 * the store (cifar10's folder, fashion-mnist's, default path included); undefined for sets that live in
 * the repository or are generated (mnist, synthetic) and for cifar10 without a path.
 */
export async function fingerprintDatasetFiles(spec: Pick<DatasetSpec, 'name' | 'path'>): Promise<string | undefined> {
  if (spec.name === 'cifar10') return spec.path ? fingerprintCifarFolder(spec.path) : undefined;
  if (spec.name === 'fashion-mnist') return fingerprintFiles(await fashionMnistFiles(spec.path));
  return undefined;
}

/** Data sets whose files fingerprintDatasetFiles keys by content: their path need not enter the cache key. */
const CONTENT_KEYED: ReadonlySet<string> = new Set(['cifar10', 'fashion-mnist']);

/** A data set param as it enters the cache key (a stage's keyParams): without the folder path that fingerprintDatasetFiles stands for. */
export function portableDatasetSpec<T extends Pick<DatasetSpec, 'name' | 'path'>>(spec: T): T {
  if (!CONTENT_KEYED.has(spec.name) || !spec.path) return spec;
  const { path: _path, ...rest } = spec;
  return rest as T;
}
