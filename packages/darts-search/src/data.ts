import * as tf from '@tensorflow/tfjs';
import { loadDataset, splitForSearch, type ImageSet } from '@lenna/data';
import type { DartsSearchParams } from './params.js';

/** The two halves of the search: `weights` trains the network's weights, `arch` the architecture α. */
export interface SearchData {
  weights: ImageSet;
  arch: ImageSet;
  hw: number;
  channels: number;
  numClasses: number;
}

/** Bilinear resize of every image to hw×hw, in chunks so a large set never sits in one tensor twice. */
export function resizeImages(set: ImageSet, hw: number): ImageSet {
  if (set.height === hw && set.width === hw) return set;
  const chunk = 256;
  const out = new Float32Array(set.count * hw * hw * set.channels);
  for (let start = 0; start < set.count; start += chunk) {
    const n = Math.min(chunk, set.count - start);
    const size = set.height * set.width * set.channels;
    const values = tf.tidy(() => {
      const x = tf.tensor4d(set.images.subarray(start * size, (start + n) * size), [n, set.height, set.width, set.channels]);
      return tf.image.resizeBilinear(x, [hw, hw]).dataSync() as Float32Array;
    });
    out.set(values, start * hw * hw * set.channels);
  }
  return { ...set, images: out, height: hw, width: hw };
}

/** The data set's training split, resized, then cut into DARTS's weight and architecture halves. */
export async function loadSearchData(params: DartsSearchParams): Promise<SearchData> {
  const { hw, ...spec } = params.dataset;
  const { train } = await loadDataset(spec);
  const sized = hw === undefined ? train : resizeImages(train, hw);
  const { weights, arch } = splitForSearch(sized, params.trainPortion, params.seed);
  return { weights, arch, hw: sized.height, channels: sized.channels, numClasses: sized.numClasses };
}
