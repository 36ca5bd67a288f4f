import * as tf from '@tensorflow/tfjs';
import { createRng, deriveSeed } from '@lenna/core';
import { augmentImage, checkAugment, paddingFill, type AugmentOptions } from './augment.js';
import { UserError } from './errors.js';
import { imageSize } from './raw.js';
import type { Batch, ImageSet } from './types.js';

export interface BatcherOptions {
  batchSize: number;
  seed: number;
  /** Reshuffle every epoch (default true); false keeps the set's order. */
  shuffle?: boolean;
  /** Training augmentation; none when absent. */
  augment?: AugmentOptions;
  /** Drop an epoch's last, smaller batch (default false, as PyTorch's DataLoader). */
  dropLast?: boolean;
}

/** All a checkpoint needs to resume the same stream of batches (JSON-serialisable). */
export interface BatcherState {
  epoch: number;
  /** Images of the current epoch already served. */
  position: number;
  augmentRng: number[];
}

/** A batch as plain arrays: `x` NHWC with `size` images, `y` labels. */
export interface BatchData {
  x: Float32Array;
  y: Int32Array;
  size: number;
}

export interface Batcher {
  readonly batchesPerEpoch: number;
  /** The epoch the next batch belongs to (0-based). */
  readonly epoch: number;
  /** Endless: the next batch, moving into the next (reshuffled) epoch as needed. The caller disposes its tensors. */
  next(): Batch;
  /** As `next`, without tensors. */
  nextData(): BatchData;
  /** One epoch: the batches left in the current epoch; afterwards the batcher stands at the next epoch's start. */
  epochBatches(): Generator<Batch>;
  getState(): BatcherState;
  setState(state: BatcherState): void;
}

function checkOptions(set: ImageSet, opts: BatcherOptions): number {
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new UserError(`batchSize is ${opts.batchSize}; it must be a positive integer.`);
  }
  if (opts.augment) checkAugment(opts.augment);
  const usable = opts.dropLast ? Math.floor(set.count / opts.batchSize) * opts.batchSize : set.count;
  if (usable === 0) {
    throw new UserError(`A batch of ${opts.batchSize} cannot be drawn from ${set.count} images; use a smaller batchSize or more images.`);
  }
  return usable;
}

/** Seeded batches over `set`: epoch e's order depends on (seed, e) alone, augmentation on one saved RNG stream. */
export function createBatcher(set: ImageSet, opts: BatcherOptions): Batcher {
  const usable = checkOptions(set, opts);
  const size = imageSize(set);
  const shape = { height: set.height, width: set.width, channels: set.channels };
  const fill = paddingFill(set.normalisation, set.channels);
  const augmentRng = createRng(deriveSeed(opts.seed, 'augment'));
  let epoch = 0;
  let position = 0;
  let order = orderFor(0);

  function orderFor(e: number): Int32Array {
    const indices = Array.from({ length: set.count }, (_, i) => i);
    if (opts.shuffle ?? true) createRng(deriveSeed(opts.seed, `epoch ${e}`)).shuffle(indices);
    return Int32Array.from(indices);
  }

  function nextData(): BatchData {
    const count = Math.min(opts.batchSize, usable - position);
    const x = new Float32Array(count * size);
    const y = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const index = order[position + i];
      const src = set.images.subarray(index * size, (index + 1) * size);
      const dst = x.subarray(i * size, (i + 1) * size);
      if (opts.augment) augmentImage(src, dst, shape, fill, opts.augment, augmentRng);
      else dst.set(src);
      y[i] = set.labels[index];
    }
    position += count;
    if (position >= usable) {
      epoch += 1;
      position = 0;
      order = orderFor(epoch);
    }
    return { x, y, size: count };
  }

  function toBatch(data: BatchData): Batch {
    return {
      x: tf.tensor4d(data.x, [data.size, set.height, set.width, set.channels]),
      y: tf.tensor1d(data.y, 'int32'),
    };
  }

  return {
    batchesPerEpoch: Math.ceil(usable / opts.batchSize),
    get epoch() {
      return epoch;
    },
    next: () => toBatch(nextData()),
    nextData,
    *epochBatches() {
      const start = epoch;
      while (epoch === start) yield toBatch(nextData());
    },
    getState: () => ({ epoch, position, augmentRng: augmentRng.getState() }),
    setState(state) {
      if (!Number.isInteger(state.epoch) || state.epoch < 0 || !Number.isInteger(state.position) || state.position < 0 || state.position >= usable) {
        throw new UserError(`Batcher state ${JSON.stringify({ epoch: state.epoch, position: state.position })} does not fit this data (${usable} images per epoch).`);
      }
      epoch = state.epoch;
      position = state.position;
      order = orderFor(epoch);
      augmentRng.setState(state.augmentRng);
    },
  };
}
