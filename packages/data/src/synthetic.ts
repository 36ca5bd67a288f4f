import { createRng } from '@lenna/core';
import { UserError } from './errors.js';
import type { RawSet } from './raw.js';
import type { Normalisation, SyntheticOptions } from './types.js';

export const SYNTHETIC_DEFAULTS: Required<SyntheticOptions> = { count: 1000, hw: 8, channels: 3, classes: 10 };
/** Pixels are centred on 0.5 and rarely leave 0.5 ± 0.5, so this brings them near zero mean, unit scale. */
export const SYNTHETIC_NORMALISATION_VALUE = { mean: 0.5, std: 0.25 };

export function syntheticNormalisation(channels: number): Normalisation {
  return { mean: new Array(channels).fill(SYNTHETIC_NORMALISATION_VALUE.mean), std: new Array(channels).fill(SYNTHETIC_NORMALISATION_VALUE.std) };
}

const AMPLITUDE = 0.3;
const NOISE = 0.2;

function resolveOptions(options: SyntheticOptions | undefined): Required<SyntheticOptions> {
  const resolved = { ...SYNTHETIC_DEFAULTS, ...options };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new UserError(`Synthetic data set option ${key} is ${value}; it must be a positive integer.`);
    }
  }
  if (resolved.classes < 2) throw new UserError(`Synthetic data set option classes is ${resolved.classes}; it must be at least 2.`);
  return resolved;
}

/**
 * A class's noiseless image: stripes whose orientation turns with the class and whose frequency
 * alternates between neighbours, tinted per channel. Fixed for a class, whatever the seed.
 */
function prototype(label: number, opts: Required<SyntheticOptions>): Float32Array {
  const { hw, channels, classes } = opts;
  const angle = (Math.PI * label) / classes;
  const frequency = 1 + (label % 2);
  const out = new Float32Array(hw * hw * channels);
  for (let y = 0; y < hw; y++) {
    for (let x = 0; x < hw; x++) {
      const stripe = Math.sin((2 * Math.PI * frequency * (x * Math.cos(angle) + y * Math.sin(angle))) / hw);
      for (let c = 0; c < channels; c++) {
        const tint = 0.6 + 0.4 * Math.cos(label + (2 * Math.PI * c) / channels);
        out[(y * hw + x) * channels + c] = 0.5 + AMPLITUDE * tint * stripe;
      }
    }
  }
  return out;
}

/** `count` images with balanced labels (image i has label i mod classes): a prototype plus seeded Gaussian noise. */
export function generateSyntheticRaw(options: SyntheticOptions | undefined, seed: number): RawSet {
  const opts = resolveOptions(options);
  const size = opts.hw * opts.hw * opts.channels;
  const prototypes = Array.from({ length: opts.classes }, (_, label) => prototype(label, opts));
  const rng = createRng(seed);
  const pixels = new Uint8Array(opts.count * size);
  const labels = new Int32Array(opts.count);
  for (let i = 0; i < opts.count; i++) {
    const label = i % opts.classes;
    labels[i] = label;
    const proto = prototypes[label];
    for (let p = 0; p < size; p++) {
      const value = proto[p] + NOISE * rng.normal();
      pixels[i * size + p] = Math.round(255 * Math.min(1, Math.max(0, value)));
    }
  }
  return { pixels, labels, count: opts.count, height: opts.hw, width: opts.hw, channels: opts.channels, numClasses: opts.classes };
}
