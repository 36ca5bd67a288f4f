import { describe, expect, test } from 'vitest';
import { downsampleRaw } from '../src/downsample.js';
import { loadDataset } from '../src/load.js';

describe('downsampleRaw', () => {
  test('averages each block, per channel, by hand', () => {
    // One 2×4 image with two channels: channel 0 counts up, channel 1 is constant 10.
    const pixels = new Uint8Array([0, 10, 1, 10, 2, 10, 3, 10, 4, 10, 5, 10, 6, 10, 8, 10]);
    const set = { pixels, labels: new Int32Array([3]), count: 1, height: 2, width: 4, channels: 2, numClasses: 4 };
    const out = downsampleRaw(set, 2);
    expect([out.height, out.width]).toEqual([1, 2]);
    // Left block: (0+1+4+5)/4 = 2.5 → 3 (rounded); right block: (2+3+6+8)/4 = 4.75 → 5.
    expect(Array.from(out.pixels)).toEqual([3, 10, 5, 10]);
    expect(out.labels).toEqual(set.labels);
  });

  test('a factor that does not divide the image is a user error naming it', () => {
    const set = { pixels: new Uint8Array(9), labels: new Int32Array([0]), count: 1, height: 3, width: 3, channels: 1, numClasses: 1 };
    expect(() => downsampleRaw(set, 2)).toThrow(/downsample 2 does not divide the 3×3 images/);
  });

  test('loadDataset gives 14×14 MNIST with downsample 2, same labels as full size', async () => {
    const full = await loadDataset({ name: 'mnist', seed: 1, limit: 20 });
    const half = await loadDataset({ name: 'mnist', seed: 1, limit: 20, downsample: 2 });
    expect([half.train.height, half.train.width, half.train.channels]).toEqual([14, 14, 1]);
    expect(half.train.images.length).toBe(20 * 14 * 14);
    expect(half.train.labels).toEqual(full.train.labels);
  });
});
