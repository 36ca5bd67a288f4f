import * as tf from '@tensorflow/tfjs';
import { createRng } from '@lenna/core';
import { describe, expect, it } from 'vitest';
import { augmentImage } from '../src/augment.js';
import { createBatcher } from '../src/batcher.js';
import { normaliseRaw } from '../src/raw.js';
import { indexedImages, sorted } from './helpers.js';

const all = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('createBatcher', () => {
  const set = indexedImages(10);

  it('serves each image once per epoch, reshuffled each epoch, with a last smaller batch', () => {
    const batcher = createBatcher(set, { batchSize: 4, seed: 1 });
    expect(batcher.batchesPerEpoch).toBe(3);
    const epochs = [0, 1].map(() => {
      const sizes: number[] = [];
      const labels: number[] = [];
      for (let b = 0; b < 3; b++) {
        const data = batcher.nextData();
        sizes.push(data.size);
        labels.push(...data.y);
        for (let i = 0; i < data.size; i++) expect(data.x[i * 4 + 2]).toBe(data.y[i]);
      }
      expect(sizes).toEqual([4, 4, 2]);
      return labels;
    });
    expect(sorted(epochs[0])).toEqual(all(10));
    expect(sorted(epochs[1])).toEqual(all(10));
    expect(epochs[0]).not.toEqual(epochs[1]);
    expect(batcher.epoch).toBe(2);
  });

  it('keeps the order without shuffle and drops the last batch when asked', () => {
    const batcher = createBatcher(set, { batchSize: 4, seed: 1, shuffle: false, dropLast: true });
    expect(batcher.batchesPerEpoch).toBe(2);
    expect(Array.from(batcher.nextData().y)).toEqual([0, 1, 2, 3]);
    expect(Array.from(batcher.nextData().y)).toEqual([4, 5, 6, 7]);
    expect(Array.from(batcher.nextData().y)).toEqual([0, 1, 2, 3]);
  });

  it('yields one epoch as int32/float32 tensors of NHWC shape', () => {
    const batcher = createBatcher(set, { batchSize: 3, seed: 2 });
    const seen: number[] = [];
    for (const { x, y } of batcher.epochBatches()) {
      expect(x.shape.slice(1)).toEqual([2, 2, 1]);
      expect([x.dtype, y.dtype]).toEqual(['float32', 'int32']);
      seen.push(...y.dataSync());
      tf.dispose([x, y]);
    }
    expect(sorted(seen)).toEqual(all(10));
    expect(batcher.epoch).toBe(1);
  });

  it('resumes the very same batches, augmentation included, from a JSON round-tripped state', () => {
    const opts = { batchSize: 3, seed: 9, augment: { crop: 1, flip: true, cutout: 1 } };
    const first = createBatcher(indexedImages(7, 4, 2), opts);
    for (let i = 0; i < 4; i++) first.nextData();
    const state = JSON.parse(JSON.stringify(first.getState()));
    const expected = [0, 1, 2, 3].map(() => first.nextData());
    const resumed = createBatcher(indexedImages(7, 4, 2), opts);
    resumed.setState(state);
    for (const want of expected) expect(resumed.nextData()).toEqual(want);
    expect(() => resumed.setState({ ...state, position: 7 })).toThrow(/does not fit/);
  });

  it('is the same for the same seed and differs for another', () => {
    const labels = (seed: number) => Array.from(createBatcher(set, { batchSize: 10, seed }).nextData().y);
    expect(labels(3)).toEqual(labels(3));
    expect(labels(3)).not.toEqual(labels(4));
  });

  it('rejects a batch size that is not a positive integer or cannot be filled', () => {
    expect(() => createBatcher(set, { batchSize: 0, seed: 1 })).toThrow(/batchSize is 0/);
    expect(() => createBatcher(set, { batchSize: 11, seed: 1, dropLast: true })).toThrow(/cannot be drawn from 10 images/);
    expect(() => createBatcher(set, { batchSize: 2, seed: 1, augment: { crop: -1 } })).toThrow(/crop is -1/);
  });
});

describe('augmentImage', () => {
  // Reference: tfjs pads the raw image with black, crops, flips, normalises, then cuts out, from the same draws.
  function reference(rawImage: tf.Tensor3D, draws: { dy: number; dx: number; flip: boolean; cy: number; cx: number }, pad: number, length: number, mean: number[], std: number[]) {
    return tf.tidy(() => {
      const [h, w, c] = rawImage.shape;
      let image = tf.pad(rawImage, [[pad, pad], [pad, pad], [0, 0]]).slice([draws.dy, draws.dx, 0], [h, w, c]);
      if (draws.flip) image = tf.reverse(image, 1);
      image = image.div(255).sub(tf.tensor1d(mean)).div(tf.tensor1d(std));
      const half = Math.floor(length / 2);
      const rows = tf.range(0, h).reshape([h, 1, 1]);
      const cols = tf.range(0, w).reshape([1, w, 1]);
      const inside = tf.logicalAnd(
        tf.logicalAnd(rows.greaterEqual(draws.cy - half), rows.less(draws.cy + half)),
        tf.logicalAnd(cols.greaterEqual(draws.cx - half), cols.less(draws.cx + half)),
      );
      return tf.where(inside.broadcastTo([h, w, c]), tf.zerosLike(image), image).dataSync();
    });
  }

  it('matches pad–crop–flip–normalise–cutout done with tfjs ops, over many draws', () => {
    const [h, w, c, pad, length] = [5, 6, 2, 2, 3];
    const normalisation = { mean: [0.4, 0.6], std: [0.2, 0.3] };
    const rawPixels = Uint8Array.from({ length: h * w * c }, (_, i) => (i * 37 + 11) % 256);
    const set = normaliseRaw({ pixels: rawPixels, labels: Int32Array.from([0]), count: 1, height: h, width: w, channels: c, numClasses: 1 }, normalisation);
    const fill = Float32Array.from([0, 1], (ch) => -normalisation.mean[ch] / normalisation.std[ch]);
    const rawImage = tf.tensor3d(Float32Array.from(rawPixels), [h, w, c]);
    const rng = createRng(21);
    let flips = 0;
    for (let trial = 0; trial < 30; trial++) {
      const replay = createRng(0);
      replay.setState(rng.getState());
      const draws = { dy: replay.int(2 * pad + 1), dx: replay.int(2 * pad + 1), flip: replay.next() < 0.5, cy: replay.int(h), cx: replay.int(w) };
      if (draws.flip) flips++;
      const out = new Float32Array(h * w * c);
      augmentImage(set.images, out, { height: h, width: w, channels: c }, fill, { crop: pad, flip: true, cutout: length }, rng);
      const want = reference(rawImage, draws, pad, length, normalisation.mean, normalisation.std);
      out.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
      expect(rng.getState()).toEqual(replay.getState());
    }
    expect(flips).toBeGreaterThan(0);
    expect(flips).toBeLessThan(30);
    rawImage.dispose();
  });
});
