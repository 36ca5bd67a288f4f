import { createRng, deriveSeed } from '@lenna/core';
import { UserError } from './errors.js';
import { imageSize } from './raw.js';
import type { ImageSet } from './types.js';

/** The images at `indices`, in that order, with the same metadata. */
export function selectImages(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const size = imageSize(set);
  const images = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i] * size;
    images.set(set.images.subarray(from, from + size), i * size);
    labels[i] = set.labels[indices[i]];
  }
  return { ...set, images, labels, count: indices.length };
}

/**
 * DARTS's split of the training data: a seeded shuffle, the first `trainPortion` of it (rounded
 * down) trains the weights, the rest the architecture α. Disjoint and covering `train`.
 */
export function splitForSearch(train: ImageSet, trainPortion: number, seed: number): { weights: ImageSet; arch: ImageSet } {
  if (!Number.isFinite(trainPortion) || trainPortion <= 0 || trainPortion >= 1) {
    throw new UserError(`trainPortion is ${trainPortion}; it must be between 0 and 1 (exclusive), e.g. 0.5.`);
  }
  const weightsCount = Math.floor(train.count * trainPortion);
  if (weightsCount === 0 || weightsCount === train.count) {
    throw new UserError(`trainPortion ${trainPortion} of ${train.count} training images leaves one half empty; use more images or a portion nearer 0.5.`);
  }
  const order = createRng(deriveSeed(seed, 'search-split')).shuffle(Array.from({ length: train.count }, (_, i) => i));
  return { weights: selectImages(train, order.slice(0, weightsCount)), arch: selectImages(train, order.slice(weightsCount)) };
}
