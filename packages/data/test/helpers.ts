import type { RawSet } from '../src/raw.js';
import type { ImageSet } from '../src/types.js';

/** A set whose label is each image's index and whose pixels encode it, so splits can be traced back. */
export function indexedRaw(count: number, side = 2, channels = 1): RawSet {
  const size = side * side * channels;
  const pixels = new Uint8Array(count * size);
  for (let i = 0; i < count; i++) pixels.fill(i % 256, i * size, (i + 1) * size);
  return { pixels, labels: Int32Array.from({ length: count }, (_, i) => i), count, height: side, width: side, channels, numClasses: count };
}

export function indexedImages(count: number, side = 2, channels = 1): ImageSet {
  const raw = indexedRaw(count, side, channels);
  const size = side * side * channels;
  const images = new Float32Array(count * size);
  for (let i = 0; i < count; i++) images.fill(i, i * size, (i + 1) * size);
  return { images, labels: raw.labels, count, height: side, width: side, channels, numClasses: count };
}

export function sorted(values: Iterable<number>): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Undoes a single-valued normalisation back to bytes (an independent path to the raw pixels). */
export function toBytes(images: Float32Array, mean: number, std: number): Uint8Array {
  const bytes = new Uint8Array(images.length);
  for (let i = 0; i < images.length; i++) bytes[i] = Math.round((images[i] * std + mean) * 255);
  return bytes;
}
