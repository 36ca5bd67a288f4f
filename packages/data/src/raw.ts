import type { ImageSet, Normalisation } from './types.js';

/** Images as the source stores them: bytes 0–255, NHWC, before any normalisation. */
export interface RawSet extends Omit<ImageSet, 'images' | 'normalisation'> {
  pixels: Uint8Array;
}

export function imageSize(set: { height: number; width: number; channels: number }): number {
  return set.height * set.width * set.channels;
}

/** The images at `indices`, in that order. */
export function selectRaw(set: RawSet, indices: ArrayLike<number>): RawSet {
  const size = imageSize(set);
  const pixels = new Uint8Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i] * size;
    pixels.set(set.pixels.subarray(from, from + size), i * size);
    labels[i] = set.labels[indices[i]];
  }
  return { ...set, pixels, labels, count: indices.length };
}

/** The first `limit` images (all of them when `limit` is undefined). */
export function limitRaw(set: RawSet, limit: number | undefined): RawSet {
  if (limit === undefined || limit >= set.count) return set;
  const size = imageSize(set);
  return { ...set, pixels: set.pixels.slice(0, limit * size), labels: set.labels.slice(0, limit), count: limit };
}

/** Scales bytes to [0, 1], then applies the per-channel normalisation. */
export function normaliseRaw(set: RawSet, normalisation: Normalisation): ImageSet {
  const { channels } = set;
  const scale = new Float32Array(channels);
  const shift = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    scale[c] = 1 / (255 * normalisation.std[c]);
    shift[c] = normalisation.mean[c] / normalisation.std[c];
  }
  const images = new Float32Array(set.pixels.length);
  for (let i = 0; i < images.length; i++) {
    const c = i % channels;
    images[i] = set.pixels[i] * scale[c] - shift[c];
  }
  return {
    images,
    labels: set.labels,
    count: set.count,
    height: set.height,
    width: set.width,
    channels,
    numClasses: set.numClasses,
    ...(set.classNames ? { classNames: set.classNames } : {}),
    normalisation: { mean: [...normalisation.mean], std: [...normalisation.std] },
  };
}

export function classHistogram(labels: Int32Array, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const label of labels) counts[label]++;
  return counts;
}
