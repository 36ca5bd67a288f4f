import { describe, expect, it } from 'vitest';
import { checkDataset } from '../src/check.js';
import { loadDataset } from '../src/load.js';
import { generateSyntheticRaw } from '../src/synthetic.js';
import type { ImageSet } from '../src/types.js';
import { createHash } from 'node:crypto';
import { toBytes } from './helpers.js';

/** Mean image per class from `train`, then the share of `test` images closest to their own class mean. */
function nearestCentroidAccuracy(train: ImageSet, test: ImageSet): number {
  const size = train.height * train.width * train.channels;
  const sums = Array.from({ length: train.numClasses }, () => new Float64Array(size));
  const counts = new Array<number>(train.numClasses).fill(0);
  for (let i = 0; i < train.count; i++) {
    counts[train.labels[i]]++;
    for (let p = 0; p < size; p++) sums[train.labels[i]][p] += train.images[i * size + p];
  }
  let correct = 0;
  for (let i = 0; i < test.count; i++) {
    let best = -1;
    let bestDistance = Infinity;
    sums.forEach((sum, label) => {
      let distance = 0;
      for (let p = 0; p < size; p++) distance += (test.images[i * size + p] - sum[p] / counts[label]) ** 2;
      if (distance < bestDistance) [best, bestDistance] = [label, distance];
    });
    if (best === test.labels[i]) correct++;
  }
  return correct / test.count;
}

describe('synthetic data set', () => {
  it('has the asked shape, balanced labels, and is seeded', () => {
    const a = generateSyntheticRaw({ count: 40, hw: 4, channels: 2, classes: 4 }, 3);
    expect([a.count, a.height, a.width, a.channels, a.numClasses, a.pixels.length]).toEqual([40, 4, 4, 2, 4, 40 * 32]);
    expect(Array.from(a.labels.slice(0, 5))).toEqual([0, 1, 2, 3, 0]);
    expect(generateSyntheticRaw({ count: 40, hw: 4, channels: 2, classes: 4 }, 3).pixels).toEqual(a.pixels);
    expect(generateSyntheticRaw({ count: 40, hw: 4, channels: 2, classes: 4 }, 4).pixels).not.toEqual(a.pixels);
    expect(() => generateSyntheticRaw({ hw: 0 }, 1)).toThrow(/hw is 0/);
  });

  it('is learnable: nearest-centroid beats chance (10%) by far on held-out images', async () => {
    const { train, val, test } = await loadDataset({ name: 'synthetic', seed: 5 });
    expect(train.count + val.count + test.count).toBe(1000);
    expect(nearestCentroidAccuracy(train, test)).toBeGreaterThan(0.6);
  });

  it('limits each split and normalises to about zero mean', async () => {
    const { train, val } = await loadDataset({ name: 'synthetic', seed: 5, limit: 50, synthetic: { count: 200, hw: 6, channels: 1, classes: 3 } });
    expect([train.count, val.count, train.images.length]).toEqual([50, 30, 50 * 36]);
    const mean = train.images.reduce((sum, v) => sum + v, 0) / train.images.length;
    expect(Math.abs(mean)).toBeLessThan(0.2);
    expect(train.normalisation).toEqual({ mean: [0.5], std: [0.25] });
  });
});

describe('checkDataset(synthetic)', () => {
  it('counts, histograms and hashes the raw bytes of train, val, test', async () => {
    const check = await checkDataset('synthetic', { seed: 2 });
    const { train, val, test } = await loadDataset({ name: 'synthetic', seed: 2 });
    expect(check.dataset).toBe('synthetic');
    expect(Object.keys(check.splits)).toEqual(['train', 'val', 'test']);
    expect(check.splits.val.count).toBe(val.count);
    const histogram = new Array(10).fill(0);
    for (const label of train.labels) histogram[label]++;
    expect(check.splits.train.classHistogram).toEqual(histogram);
    // Independent path: undo the normalisation of what loadDataset returns, back to bytes.
    const hash = createHash('sha256');
    for (const set of [train, val, test]) hash.update(toBytes(set.images, 0.5, 0.25));
    expect(check.pixelChecksum).toBe(hash.digest('hex'));
    expect((await checkDataset('synthetic', { seed: 3 })).pixelChecksum).not.toBe(check.pixelChecksum);
    await expect(checkDataset('imagenet' as 'mnist')).rejects.toThrow(/Unknown data set "imagenet"/);
  });
});
