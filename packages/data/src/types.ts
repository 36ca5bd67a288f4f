import type * as tf from '@tensorflow/tfjs';

/** Per-channel normalisation applied to pixels in [0, 1]: `(v - mean[c]) / std[c]`. */
export interface Normalisation {
  mean: number[];
  std: number[];
}

/** Images in NHWC order, already normalised, with one integer label per image. */
export interface ImageSet {
  images: Float32Array;
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  classNames?: string[];
  /** How `images` were normalised; augmentation pads with the normalised value of a black pixel. */
  normalisation?: Normalisation;
}

export type DatasetName = 'mnist' | 'cifar10' | 'fashion-mnist' | 'synthetic';
export const DATASET_NAMES: readonly DatasetName[] = ['mnist', 'cifar10', 'fashion-mnist', 'synthetic'];

export interface SyntheticOptions {
  count?: number;
  hw?: number;
  channels?: number;
  classes?: number;
}

export interface DatasetSpec {
  name: DatasetName;
  /** The folder of a file-backed set: CIFAR-10's binary batches (required), Fashion-MNIST's IDX files (default: Debian's). */
  path?: string;
  /** Images per split at most (applied after splitting). */
  limit?: number;
  /** Resize every image to resize×resize (bilinear, after `limit` and normalisation), e.g. 16 for a quick MNIST search. */
  resize?: number;
  seed: number;
  valFraction?: number;
  /** mnist and synthetic only: cifar10 and fashion-mnist have their official test sets. */
  testFraction?: number;
  synthetic?: SyntheticOptions;
}

export interface Splits<T> {
  train: T;
  val: T;
  test: T;
}

export interface Batch {
  x: tf.Tensor4D;
  /** int32 class labels. */
  y: tf.Tensor1D;
}

export interface SplitCheck {
  count: number;
  classHistogram: number[];
}

export interface DatasetCheck {
  dataset: DatasetName;
  splits: Record<string, SplitCheck>;
  pixelChecksum: string;
}
