import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { loadDataset } from '../src/load.js';
import { resizeImages } from '../src/resize.js';

function imageSet(images: Float32Array, count: number, hw: number, channels: number) {
  return { images, labels: new Int32Array(count), count, height: hw, width: hw, channels, numClasses: 1 };
}

describe('resizeImages', () => {
  test('a hand-computed 2×2 → 3×3 case', () => {
    // Source coordinates 0, 2/3, 4/3 on each axis; the last clamps to the edge pixel.
    const out = resizeImages(imageSet(new Float32Array([0, 3, 6, 9]), 1, 2, 1), 3);
    const third = 2 / 3;
    const row0 = [0, 3 * third, 3];
    const row1 = row0.map((v) => v + 6 * third);
    const row2 = row0.map((v) => v + 6);
    Array.from(out.images).forEach((v, i) => expect(v).toBeCloseTo([...row0, ...row1, ...row2][i], 5));
  });

  test('agrees with tf.image.resizeBilinear (the reference kernel) on random images, 28 → 16', async () => {
    await tf.setBackend('cpu');
    const count = 3, channels = 2, hw = 28;
    const images = Float32Array.from({ length: count * hw * hw * channels }, (_, i) => Math.sin(i * 12.9898) * 4);
    const ours = resizeImages(imageSet(images, count, hw, channels), 16);
    const theirs = tf.image.resizeBilinear(tf.tensor4d(images, [count, hw, hw, channels]), [16, 16]).dataSync();
    expect(ours.images.length).toBe(theirs.length);
    let worst = 0;
    for (let i = 0; i < theirs.length; i++) worst = Math.max(worst, Math.abs(ours.images[i] - theirs[i]));
    expect(worst).toBeLessThan(1e-4);
  });

  test('loadDataset gives 16×16 MNIST with resize 16 and keeps the labels', async () => {
    const full = await loadDataset({ name: 'mnist', seed: 1, limit: 20 });
    const small = await loadDataset({ name: 'mnist', seed: 1, limit: 20, resize: 16 });
    expect([small.train.height, small.train.width, small.train.channels]).toEqual([16, 16, 1]);
    expect(small.train.images.length).toBe(20 * 16 * 16);
    expect(small.train.labels).toEqual(full.train.labels);
  });

  test('a size that is not a positive whole number is a user error', () => {
    expect(() => resizeImages(imageSet(new Float32Array(4), 1, 2, 1), 2.5)).toThrow(/resize 2.5 is not a positive whole number/);
  });
});
