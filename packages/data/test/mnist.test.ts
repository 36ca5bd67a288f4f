import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkDataset } from '../src/check.js';
import { loadDataset } from '../src/load.js';
import { loadMnistRaw, MNIST_NORMALISATION } from '../src/mnist.js';
import type { RawSet } from '../src/raw.js';
import { createHash } from 'node:crypto';
import { toBytes } from './helpers.js';

interface MnistDigit {
  length: number;
  get(which: number): number[];
}
const mnistPackage = createRequire(import.meta.url)('mnist') as MnistDigit[];

// Every image's bytes as a hex key, so splits can be compared as multisets of images.
function imageKeys(set: RawSet): string[] {
  const size = set.height * set.width * set.channels;
  return Array.from({ length: set.count }, (_, i) => `${set.labels[i]}:${Buffer.from(set.pixels.subarray(i * size, (i + 1) * size)).toString('hex')}`);
}

let raw: RawSet;
beforeAll(async () => {
  raw = await loadMnistRaw();
});

describe('mnist', () => {
  it('reads the package digits exactly, in digit order', () => {
    expect(raw.count).toBe(mnistPackage.reduce((sum, digit) => sum + digit.length, 0));
    expect(raw.count).toBe(10_000);
    let start = 0;
    for (let digit = 0; digit < 10; digit++) {
      expect(raw.labels[start]).toBe(digit);
      for (const which of [0, mnistPackage[digit].length - 1]) {
        const theirs = mnistPackage[digit].get(which);
        const ours = raw.pixels.subarray((start + which) * 784, (start + which + 1) * 784);
        theirs.forEach((v, p) => expect(Math.abs(ours[p] / 255 - v)).toBeLessThan(6e-4));
      }
      start += mnistPackage[digit].length;
    }
  });

  it('splits by seed into train/val/test that together are the whole set, and normalises', async () => {
    const { train, val, test } = await loadDataset({ name: 'mnist', seed: 4, valFraction: 0.1, testFraction: 0.2 });
    expect([train.count, val.count, test.count]).toEqual([7000, 1000, 2000]);
    expect([train.height, train.width, train.channels, train.numClasses]).toEqual([28, 28, 1, 10]);
    const back = (images: Float32Array) => toBytes(images, MNIST_NORMALISATION.mean[0], MNIST_NORMALISATION.std[0]);
    const asRaw = (set: typeof train): RawSet => ({ ...set, pixels: back(set.images) });
    const fromSplits = [...imageKeys(asRaw(train)), ...imageKeys(asRaw(val)), ...imageKeys(asRaw(test))].sort();
    expect(fromSplits).toEqual(imageKeys(raw).sort());
  });

  it('is deterministic for a seed, differs across seeds, and honours limit', async () => {
    const a = await loadDataset({ name: 'mnist', seed: 4, limit: 300 });
    const b = await loadDataset({ name: 'mnist', seed: 4, limit: 300 });
    const c = await loadDataset({ name: 'mnist', seed: 5, limit: 300 });
    expect([a.train.count, a.val.count, a.test.count]).toEqual([300, 300, 300]);
    expect(a.train.images).toEqual(b.train.images);
    expect(Array.from(a.test.labels)).toEqual(Array.from(b.test.labels));
    expect(Array.from(a.test.labels)).not.toEqual(Array.from(c.test.labels));
  });

  it('checkDataset reports the default 70/15/15 split and a checksum of its bytes', async () => {
    const check = await checkDataset('mnist', { seed: 0 });
    expect(Object.fromEntries(Object.entries(check.splits).map(([k, v]) => [k, v.count]))).toEqual({ train: 7000, val: 1500, test: 1500 });
    const total = new Array(10).fill(0);
    for (const split of Object.values(check.splits)) split.classHistogram.forEach((n, d) => (total[d] += n));
    expect(total).toEqual(mnistPackage.map((digit) => digit.length));
    const { train, val, test } = await loadDataset({ name: 'mnist', seed: 0 });
    const hash = createHash('sha256');
    for (const set of [train, val, test]) hash.update(toBytes(set.images, 0.1307, 0.3081));
    expect(check.pixelChecksum).toBe(hash.digest('hex'));
  });
});
