import { UserError } from './errors.js';
import type { RawSet } from './raw.js';

/**
 * Averages every factor×factor block of pixels (rounding to the nearest byte), e.g. MNIST's 28×28 to
 * 14×14 with factor 2: the quickstart's way to make a search four times cheaper on two cores.
 */
export function downsampleRaw(set: RawSet, factor: number | undefined): RawSet {
  if (factor === undefined || factor === 1) return set;
  if (!Number.isInteger(factor) || factor < 1 || set.height % factor !== 0 || set.width % factor !== 0) {
    throw new UserError(`downsample ${factor} does not divide the ${set.height}×${set.width} images; use a whole factor of both sides (e.g. 2).`);
  }
  const { height, width, channels, count } = set;
  const h = height / factor, w = width / factor;
  const pixels = new Uint8Array(count * h * w * channels);
  const area = factor * factor;
  for (let n = 0; n < count; n++) {
    const src = n * height * width * channels, dst = n * h * w * channels;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < channels; c++) {
          let sum = 0;
          for (let dy = 0; dy < factor; dy++) {
            for (let dx = 0; dx < factor; dx++) sum += set.pixels[src + ((y * factor + dy) * width + x * factor + dx) * channels + c];
          }
          pixels[dst + (y * w + x) * channels + c] = Math.round(sum / area);
        }
      }
    }
  }
  return { ...set, pixels, height: h, width: w };
}
