import { createHash } from 'node:crypto';
import { loadCifarRaw } from './cifar.js';
import { loadFashionMnistRaw } from './fashion-mnist.js';
import { checkDatasetName, loadRawSplits } from './load.js';
import { classHistogram, type RawSet } from './raw.js';
import type { DatasetCheck, DatasetName } from './types.js';

/** File-backed sets are checked as their official files hold them (train, test), not as split by a seed. */
async function splitsToCheck(name: DatasetName, opts: { path?: string; seed?: number }): Promise<Record<string, RawSet>> {
  if (name === 'cifar10') return loadCifarRaw(opts.path);
  if (name === 'fashion-mnist') return loadFashionMnistRaw(opts.path);
  const { splits } = await loadRawSplits({ name, path: opts.path, seed: opts.seed ?? 0 });
  return { train: splits.train, val: splits.val, test: splits.test };
}

/**
 * What LENNA reads from a data set: per split, the image count and class histogram, and one sha256
 * (hex) over the raw pixel bytes (0–255, NHWC, before normalisation) of the splits in the order
 * train, val, test. cifar10 and fashion-mnist report their official files (train = cifar10's five
 * data batches in file order, then test; no val), so their checksum does not depend on the seed;
 * mnist and synthetic split by `seed` (default 0) with the default fractions, so theirs does.
 */
export async function checkDataset(name: DatasetName, opts: { path?: string; seed?: number } = {}): Promise<DatasetCheck> {
  checkDatasetName(name);
  const splits = await splitsToCheck(name, opts);
  const hash = createHash('sha256');
  const summary: DatasetCheck['splits'] = {};
  for (const split of ['train', 'val', 'test'].filter((s) => s in splits)) {
    const set = splits[split];
    summary[split] = { count: set.count, classHistogram: classHistogram(set.labels, set.numClasses) };
    hash.update(set.pixels);
  }
  return { dataset: name, splits: summary, pixelChecksum: hash.digest('hex') };
}
