import { createHash } from 'node:crypto';
import { loadCifarRaw } from './cifar.js';
import { checkDatasetName, loadRawSplits } from './load.js';
import { classHistogram, type RawSet } from './raw.js';
import type { DatasetCheck, DatasetName } from './types.js';

/**
 * What LENNA reads from a data set: per split, the image count and class histogram, and one sha256
 * (hex) over the raw pixel bytes (0–255, NHWC, before normalisation) of the splits in the order
 * listed (train, val, test; cifar10: train = the five data batches in file order, then test).
 * mnist and synthetic split by `seed` (default 0) with the default fractions, so their checksum
 * depends on the seed; cifar10's does not.
 */
export async function checkDataset(name: DatasetName, opts: { path?: string; seed?: number } = {}): Promise<DatasetCheck> {
  checkDatasetName(name);
  const splits: Record<string, RawSet> =
    name === 'cifar10' ? await loadCifarRaw(opts.path) : (await loadRawSplits({ name, path: opts.path, seed: opts.seed ?? 0 })).splits;
  const order = name === 'cifar10' ? ['train', 'test'] : ['train', 'val', 'test'];
  const hash = createHash('sha256');
  const summary: DatasetCheck['splits'] = {};
  for (const split of order) {
    const set = splits[split];
    summary[split] = { count: set.count, classHistogram: classHistogram(set.labels, set.numClasses) };
    hash.update(set.pixels);
  }
  return { dataset: name, splits: summary, pixelChecksum: hash.digest('hex') };
}
