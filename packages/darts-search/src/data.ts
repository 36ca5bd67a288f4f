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

/** The data set's training split (resized by the data set's own `resize`), cut into DARTS's weight and architecture halves. */
export async function loadSearchData(params: DartsSearchParams): Promise<SearchData> {
  const { train } = await loadDataset(params.dataset);
  const { weights, arch } = splitForSearch(train, params.trainPortion, params.seed);
  return { weights, arch, hw: train.height, channels: train.channels, numClasses: train.numClasses };
}
