import type { Rng } from '@lenna/core';
import { UserError } from './errors.js';
import type { Normalisation } from './types.js';

/** DARTS's CIFAR training augmentation: `crop` pixels of padding then a random crop, a horizontal flip, a cutout square. */
export interface AugmentOptions {
  /** Zero padding on each side before a random crop back to the original size (DARTS: 4). */
  crop?: number;
  flip?: boolean;
  /** Side of the square cutout, set to 0 after normalisation (DARTS: 16); 0 or absent: none. */
  cutout?: number;
}

export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

export function checkAugment(opts: AugmentOptions): void {
  for (const key of ['crop', 'cutout'] as const) {
    const value = opts[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new UserError(`Augmentation option ${key} is ${value}; it must be a non-negative integer of pixels.`);
    }
  }
}

/** The normalised value of a black pixel per channel: what zero padding of the raw image becomes. */
export function paddingFill(normalisation: Normalisation | undefined, channels: number): Float32Array {
  const fill = new Float32Array(channels);
  if (normalisation) for (let c = 0; c < channels; c++) fill[c] = -normalisation.mean[c] / normalisation.std[c];
  return fill;
}

interface Draw {
  dy: number;
  dx: number;
  flip: boolean;
  cutoutY: number;
  cutoutX: number;
}

/** Random numbers for one image, always drawn in this order so a saved RNG state replays exactly. */
function drawFor(opts: AugmentOptions, shape: ImageShape, rng: Rng): Draw {
  const pad = opts.crop ?? 0;
  const dy = pad > 0 ? rng.int(2 * pad + 1) : pad;
  const dx = pad > 0 ? rng.int(2 * pad + 1) : pad;
  const flip = opts.flip ? rng.next() < 0.5 : false;
  const cutout = opts.cutout ?? 0;
  const cutoutY = cutout > 0 ? rng.int(shape.height) : -1;
  const cutoutX = cutout > 0 ? rng.int(shape.width) : -1;
  return { dy, dx, flip, cutoutY, cutoutX };
}

/**
 * Writes an augmented copy of `src` (one HWC image) into `dst`. Output pixel (y, x) comes from input
 * (y + dy − pad, x' + dx − pad) with x' = width − 1 − x when flipped (crop first, then flip, as
 * torchvision applies them); outside the input it is the padding fill.
 */
export function augmentImage(src: Float32Array, dst: Float32Array, shape: ImageShape, fill: Float32Array, opts: AugmentOptions, rng: Rng): void {
  const { height, width, channels } = shape;
  const pad = opts.crop ?? 0;
  const draw = drawFor(opts, shape, rng);
  for (let y = 0; y < height; y++) {
    const sy = y + draw.dy - pad;
    for (let x = 0; x < width; x++) {
      const sx = (draw.flip ? width - 1 - x : x) + draw.dx - pad;
      const out = (y * width + x) * channels;
      const inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
      for (let c = 0; c < channels; c++) dst[out + c] = inside ? src[(sy * width + sx) * channels + c] : fill[c];
    }
  }
  applyCutout(dst, shape, opts.cutout ?? 0, draw.cutoutY, draw.cutoutX);
}

/** DARTS's Cutout: a length×length square centred on (cy, cx), clipped at the borders, set to 0. */
function applyCutout(dst: Float32Array, shape: ImageShape, length: number, cy: number, cx: number): void {
  if (length <= 0) return;
  const half = Math.floor(length / 2);
  const y0 = Math.max(0, cy - half);
  const y1 = Math.min(shape.height, cy + half);
  const x0 = Math.max(0, cx - half);
  const x1 = Math.min(shape.width, cx + half);
  for (let y = y0; y < y1; y++) {
    dst.fill(0, (y * shape.width + x0) * shape.channels, (y * shape.width + x1) * shape.channels);
  }
}
