import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from './errors.js';
import { readIdxImageSet } from './idx.js';
import type { RawSet } from './raw.js';
import type { Normalisation } from './types.js';

/** Where Debian's `dataset-fashion-mnist` package puts the four official gzipped IDX files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_PACKAGE = 'dataset-fashion-mnist';
export const FASHION_MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;
export const FASHION_MNIST_CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/**
 * Mean and standard deviation of all pixels (byte / 255) of the 60,000 official training images,
 * computed from the files once (0.28604, 0.35302); a test recomputes them from the real files.
 */
export const FASHION_MNIST_NORMALISATION: Normalisation = { mean: [0.286], std: [0.353] };

type FileKey = keyof typeof FASHION_MNIST_FILES;

/**
 * The file a key reads in `folder`: the official gzipped name, or the same name without `.gz`
 * when only the unzipped file is there. A missing file is a UserError naming the gzipped one.
 */
async function locate(folder: string, key: FileKey): Promise<string> {
  const gz = join(folder, FASHION_MNIST_FILES[key]);
  for (const file of [gz, gz.slice(0, -'.gz'.length)]) {
    if ((await stat(file).catch(() => undefined))?.isFile()) return file;
  }
  throw new UserError(
    `Fashion-MNIST file ${gz} is missing; install the data set with \`apt-get install ${FASHION_MNIST_PACKAGE}\` or set the data set's path to a folder holding the four official IDX files.`,
  );
}

/** The four files of a Fashion-MNIST folder (default: Debian's), in the order train images, train labels, test images, test labels. */
export async function fashionMnistFiles(folder = FASHION_MNIST_DIR): Promise<string[]> {
  const files: string[] = [];
  for (const key of Object.keys(FASHION_MNIST_FILES) as FileKey[]) files.push(await locate(folder, key));
  return files;
}

/** The official training (60,000) and test (10,000) images, in file order. */
export async function loadFashionMnistRaw(folder = FASHION_MNIST_DIR): Promise<{ train: RawSet; test: RawSet }> {
  const [trainImages, trainLabels, testImages, testLabels] = await fashionMnistFiles(folder);
  const opts = { hint: `reinstall the official files with \`apt-get install --reinstall ${FASHION_MNIST_PACKAGE}\`` };
  return {
    train: await readIdxImageSet(trainImages, trainLabels, FASHION_MNIST_CLASS_NAMES, opts),
    test: await readIdxImageSet(testImages, testLabels, FASHION_MNIST_CLASS_NAMES, opts),
  };
}
