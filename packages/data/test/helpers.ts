import { expect } from 'vitest';
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

const IDX_CODES = { ubyte: [0x08, 1], sbyte: [0x09, 1], short: [0x0b, 2], int: [0x0c, 4], float: [0x0d, 4], double: [0x0e, 8] } as const;

/** The bytes of an IDX file, written from the format's description (big-endian header and values). */
export function idxFile(type: keyof typeof IDX_CODES, dims: number[], values: number[]): Uint8Array {
  const [code, size] = IDX_CODES[type];
  const header = 4 + 4 * dims.length;
  const bytes = new Uint8Array(header + values.length * size);
  const view = new DataView(bytes.buffer);
  view.setUint8(2, code);
  view.setUint8(3, dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  const put = {
    ubyte: (at: number, v: number) => view.setUint8(at, v),
    sbyte: (at: number, v: number) => view.setInt8(at, v),
    short: (at: number, v: number) => view.setInt16(at, v),
    int: (at: number, v: number) => view.setInt32(at, v),
    float: (at: number, v: number) => view.setFloat32(at, v),
    double: (at: number, v: number) => view.setFloat64(at, v),
  }[type];
  values.forEach((v, i) => put(header + i * size, v));
  return bytes;
}

/** A user error is one sentence: it ends with a full stop and has no other sentence end inside. */
export function expectOneSentence(error: Error): void {
  expect(error.message.trim()).toMatch(/\.$/);
  expect(error.message.trim().slice(0, -1)).not.toMatch(/[.!?]\s+[A-Z]/);
}
