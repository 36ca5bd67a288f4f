export type { Batch, DatasetCheck, DatasetName, DatasetSpec, ImageSet, Normalisation, SplitCheck, Splits, SyntheticOptions } from './types.js';
export { DATASET_NAMES } from './types.js';
export { loadDataset, DEFAULT_FRACTIONS } from './load.js';
export { splitForSearch, selectImages } from './subset.js';
export { createBatcher, type Batcher, type BatcherOptions, type BatcherState, type BatchData } from './batcher.js';
export { augmentImage, type AugmentOptions } from './augment.js';
export { checkDataset } from './check.js';
export { fingerprintDatasetFiles, fingerprintCifarFolder, portableDatasetSpec } from './fingerprint.js';
export { readIdx, parseIdx, readIdxImageSet, IDX_TYPES, type IdxArray, type IdxTypeName, type IdxErrorOptions } from './idx.js';
export {
  FASHION_MNIST_CLASS_NAMES,
  FASHION_MNIST_DIR,
  FASHION_MNIST_FILES,
  FASHION_MNIST_NORMALISATION,
  FASHION_MNIST_PACKAGE,
} from './fashion-mnist.js';
export {
  readCifarBatch,
  CIFAR_CLASS_NAMES,
  CIFAR_FILES,
  CIFAR_NORMALISATION,
  CIFAR_RECORD_BYTES,
  CIFAR_RECORDS_PER_BATCH,
} from './cifar.js';
export { MNIST_NORMALISATION } from './mnist.js';
export { SYNTHETIC_DEFAULTS } from './synthetic.js';
export type { RawSet } from './raw.js';
export { datasetSpecSchema } from './schema.js';
export { resizeImages } from './resize.js';
