import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDataset } from '../src/check.js';
import { UserError } from '../src/errors.js';
import { FASHION_MNIST_CLASS_NAMES, FASHION_MNIST_DIR, FASHION_MNIST_FILES, FASHION_MNIST_NORMALISATION, loadFashionMnistRaw } from '../src/fashion-mnist.js';
import { fingerprintCifarFolder, fingerprintDatasetFiles } from '../src/fingerprint.js';
import { loadDataset, loadRawSplits } from '../src/load.js';
import { datasetSpecSchema } from '../src/schema.js';
import { expectOneSentence, idxFile, toBytes } from './helpers.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lenna-fashion-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const SIDE = 4;
/** Image n of a split is filled with (n·5 + offset + pixel) mod 256, its label is n mod 10. */
function split(count: number, offset: number): { images: Uint8Array; labels: Uint8Array } {
  const pixels = Array.from({ length: count * SIDE * SIDE }, (_, i) => (Math.floor(i / (SIDE * SIDE)) * 5 + offset + (i % (SIDE * SIDE))) % 256);
  return { images: idxFile('ubyte', [count, SIDE, SIDE], pixels), labels: idxFile('ubyte', [count], Array.from({ length: count }, (_, n) => n % 10)) };
}

/** A folder of the four files in the official layout: 20 training and 10 test images of 4×4. */
async function fashionFolder(name: string, opts: { gzip?: boolean; train?: number } = {}): Promise<{ folder: string; train: ReturnType<typeof split>; test: ReturnType<typeof split> }> {
  const folder = join(root, name);
  await mkdir(folder);
  const train = split(opts.train ?? 20, 0);
  const test = split(10, 100);
  const pack = (bytes: Uint8Array) => (opts.gzip === false ? bytes : gzipSync(bytes));
  const strip = (file: string) => (opts.gzip === false ? file.slice(0, -3) : file);
  await writeFile(join(folder, strip(FASHION_MNIST_FILES.trainImages)), pack(train.images));
  await writeFile(join(folder, strip(FASHION_MNIST_FILES.trainLabels)), pack(train.labels));
  await writeFile(join(folder, strip(FASHION_MNIST_FILES.testImages)), pack(test.images));
  await writeFile(join(folder, strip(FASHION_MNIST_FILES.testLabels)), pack(test.labels));
  return { folder, train, test };
}

async function rejection(promise: Promise<unknown>): Promise<UserError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  expectOneSentence(error as Error);
  return error as UserError;
}

describe('fashion-mnist from a folder', () => {
  it('reads the official train and test files, gzipped or not', async () => {
    const { folder, train, test } = await fashionFolder('small');
    const raw = await loadFashionMnistRaw(folder);
    expect([raw.train.count, raw.test.count]).toEqual([20, 10]);
    expect(Array.from(raw.train.pixels)).toEqual(Array.from(train.images.subarray(16)));
    expect(Array.from(raw.test.pixels)).toEqual(Array.from(test.images.subarray(16)));
    expect(Array.from(raw.test.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(raw.train.classNames).toEqual(FASHION_MNIST_CLASS_NAMES);
    const plain = await loadFashionMnistRaw((await fashionFolder('plain', { gzip: false })).folder);
    expect(Array.from(plain.train.pixels)).toEqual(Array.from(raw.train.pixels));
  });

  it('carves a seeded tenth of train as val, keeps the official test set, and normalises with the Fashion-MNIST statistics', async () => {
    const { folder, test } = await fashionFolder('splits');
    const { splits, normalisation } = await loadRawSplits({ name: 'fashion-mnist', path: folder, seed: 3 });
    expect(normalisation).toBe(FASHION_MNIST_NORMALISATION);
    expect([splits.train.count, splits.val.count, splits.test.count]).toEqual([18, 2, 10]);
    // First pixel of training image n is 5n: train and val together are the 20 images, once each.
    const firsts = (set: typeof splits.train) => Array.from({ length: set.count }, (_, i) => set.pixels[i * SIDE * SIDE] / 5);
    expect([...firsts(splits.train), ...firsts(splits.val)].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const other = await loadRawSplits({ name: 'fashion-mnist', path: folder, seed: 4 });
    expect(firsts(other.splits.val)).not.toEqual(firsts(splits.val));

    const loaded = await loadDataset({ name: 'fashion-mnist', path: folder, seed: 3 });
    const [mean, std] = [FASHION_MNIST_NORMALISATION.mean[0], FASHION_MNIST_NORMALISATION.std[0]];
    expect(Array.from(toBytes(loaded.test.images, mean, std))).toEqual(Array.from(test.images.subarray(16)));
    expect(loaded.test.normalisation).toEqual({ mean: [0.286], std: [0.353] });
  });

  it('takes limit and resize from a stage param, as mnist does', async () => {
    const { folder } = await fashionFolder('limit', { train: 40 });
    const spec = datasetSpecSchema.parse({ name: 'fashion-mnist', path: folder, limit: 3, resize: 8 });
    const { train, val, test } = await loadDataset(spec);
    expect([train.count, val.count, test.count]).toEqual([3, 3, 3]);
    expect([train.height, train.width, train.channels, train.images.length]).toEqual([8, 8, 1, 3 * 64]);
    expect(() => datasetSpecSchema.parse({ name: 'fashion_mnist' })).toThrow();
    await expect(loadDataset({ name: 'fashion-mnist', path: folder, seed: 0, testFraction: 0.1 })).rejects.toThrow(
      'Data set fashion-mnist takes no testFraction (it is 0.1): its test split is the official test set.',
    );
  });

  it('names the missing file and the apt package, in one sentence', async () => {
    const absent = join(root, 'absent');
    const error = await rejection(loadDataset({ name: 'fashion-mnist', path: absent, seed: 0 }));
    expect(error.message).toBe(
      `Fashion-MNIST file ${join(absent, 'train-images-idx3-ubyte.gz')} is missing; install the data set with \`apt-get install dataset-fashion-mnist\` or set the data set's path to a folder holding the four official IDX files.`,
    );
    const { folder } = await fashionFolder('gap');
    await rm(join(folder, FASHION_MNIST_FILES.testLabels));
    expect((await rejection(checkDataset('fashion-mnist', { path: folder }))).message).toMatch(/t10k-labels-idx1-ubyte\.gz is missing; install the data set with `apt-get install dataset-fashion-mnist`/);
  });

  it('names a truncated file and how to reinstall it, in one sentence', async () => {
    const { folder, train } = await fashionFolder('truncated');
    const file = join(folder, FASHION_MNIST_FILES.trainImages);
    await writeFile(file, gzipSync(train.images.subarray(0, train.images.length - 7)));
    const error = await rejection(loadFashionMnistRaw(folder));
    expect(error.message).toBe(
      `IDX file ${file} is truncated: its header declares 20×4×4 ubyte values (320 bytes) but 313 bytes follow the header; reinstall the official files with \`apt-get install --reinstall dataset-fashion-mnist\`.`,
    );
    const zipped = gzipSync(train.images);
    await writeFile(file, zipped.subarray(0, zipped.length - 20));
    expect((await rejection(loadFashionMnistRaw(folder))).message).toMatch(/truncated or corrupt gzip file .*apt-get install --reinstall dataset-fashion-mnist`\.$/);
    const labels = join(folder, FASHION_MNIST_FILES.trainLabels);
    await writeFile(join(folder, FASHION_MNIST_FILES.trainImages), gzipSync(train.images));
    await writeFile(labels, gzipSync(split(19, 0).labels));
    expect((await rejection(loadFashionMnistRaw(folder))).message).toMatch(/holds 20 images but .*train-labels-idx1-ubyte\.gz holds 19 labels/);
  });

  it('checks as its official files: train then test, histograms, and a checksum of their pixels', async () => {
    const { folder, train, test } = await fashionFolder('check');
    const check = await checkDataset('fashion-mnist', { path: folder, seed: 5 });
    expect(check.dataset).toBe('fashion-mnist');
    expect(Object.keys(check.splits)).toEqual(['train', 'test']);
    expect(check.splits.train).toEqual({ count: 20, classHistogram: new Array(10).fill(2) });
    expect(check.splits.test).toEqual({ count: 10, classHistogram: new Array(10).fill(1) });
    const expected = createHash('sha256').update(train.images.subarray(16)).update(test.images.subarray(16)).digest('hex');
    expect(check.pixelChecksum).toBe(expected);
    expect((await checkDataset('fashion-mnist', { path: folder, seed: 6 })).pixelChecksum).toBe(expected);
  });
});

describe('fingerprintDatasetFiles', () => {
  it("fingerprints fashion-mnist's four files and changes when one does", async () => {
    const { folder, test } = await fashionFolder('fingerprint');
    const first = await fingerprintDatasetFiles({ name: 'fashion-mnist', path: folder });
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(await fingerprintDatasetFiles({ name: 'fashion-mnist', path: folder })).toBe(first);
    const file = join(folder, FASHION_MNIST_FILES.testImages);
    const changed = Uint8Array.from(test.images);
    changed[changed.length - 1] ^= 1;
    const stamp = new Date('2020-01-01T00:00:00Z');
    await writeFile(file, gzipSync(changed));
    await utimes(file, stamp, stamp);
    expect(await fingerprintDatasetFiles({ name: 'fashion-mnist', path: folder })).not.toBe(first);
    await rm(join(folder, FASHION_MNIST_FILES.trainLabels));
    await expect(fingerprintDatasetFiles({ name: 'fashion-mnist', path: folder })).rejects.toThrow(/train-labels-idx1-ubyte\.gz is missing; install the data set with `apt-get install dataset-fashion-mnist`/);
  });

  it('is the CIFAR folder fingerprint for cifar10, and nothing for the sets that need no files', async () => {
    const folder = join(root, 'cifar');
    await mkdir(folder);
    for (const name of ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']) await writeFile(join(folder, name), name);
    expect(await fingerprintDatasetFiles({ name: 'cifar10', path: folder })).toBe(await fingerprintCifarFolder(folder));
    expect(await fingerprintDatasetFiles({ name: 'cifar10' })).toBeUndefined();
    expect(await fingerprintDatasetFiles({ name: 'mnist' })).toBeUndefined();
    expect(await fingerprintDatasetFiles({ name: 'synthetic', path: folder })).toBeUndefined();
  });
});

// The real data set from Debian's package. Its official files were checked once and pinned here:
// counts and histograms are the Fashion-MNIST paper's; the checksum is sha256 over all training
// pixels then all test pixels, as `lenna data check fashion-mnist` prints it.
const REAL_CHECKSUM = '0fbbfcb392782b3b702472ead3688778e1509e8cf40f5c24d9d3303618b193ab';
const realPresent = existsSync(join(FASHION_MNIST_DIR, FASHION_MNIST_FILES.trainImages));
const realRequired = process.env.LENNA_REQUIRE_FASHION_MNIST === '1';
if (!realPresent && !realRequired) {
  process.stderr.write(
    `skipped the real Fashion-MNIST test: ${FASHION_MNIST_DIR} not found; to run it, apt-get install dataset-fashion-mnist (LENNA_REQUIRE_FASHION_MNIST=1 makes this a failure).\n`,
  );
}

describe.skipIf(!realPresent && !realRequired)('fashion-mnist, the real files in ' + FASHION_MNIST_DIR, () => {
  it('holds 60,000 training and 10,000 test images, balanced, with the pinned checksum', async () => {
    const check = await checkDataset('fashion-mnist');
    expect(check.splits.train).toEqual({ count: 60_000, classHistogram: new Array(10).fill(6000) });
    expect(check.splits.test).toEqual({ count: 10_000, classHistogram: new Array(10).fill(1000) });
    expect(check.pixelChecksum).toBe(REAL_CHECKSUM);
  });

  it('has the training statistics the normalisation uses', async () => {
    const { train } = await loadFashionMnistRaw();
    expect([train.height, train.width, train.channels]).toEqual([28, 28, 1]);
    // Byte counts first: 256 bins keep the sums exact and the loop fast.
    const counts = new Float64Array(256);
    const { pixels } = train;
    for (let i = 0; i < pixels.length; i++) counts[pixels[i]]++;
    let [sum, squares] = [0, 0];
    counts.forEach((c, v) => {
      sum += c * v;
      squares += c * v * v;
    });
    const n = pixels.length;
    const mean = sum / n / 255;
    const std = Math.sqrt(squares / n / 255 ** 2 - mean ** 2);
    expect(Math.abs(mean - FASHION_MNIST_NORMALISATION.mean[0])).toBeLessThan(5e-5);
    expect(Math.abs(std - FASHION_MNIST_NORMALISATION.std[0])).toBeLessThan(5e-5);
  });

  it('loads as a stage would: a seeded val of 6,000, limit and resize', async () => {
    const { train, val, test } = await loadDataset(datasetSpecSchema.parse({ name: 'fashion-mnist', limit: 100, resize: 16, seed: 1 }));
    expect([train.count, val.count, test.count, train.height]).toEqual([100, 100, 100, 16]);
    const { splits } = await loadRawSplits({ name: 'fashion-mnist', seed: 1 });
    expect([splits.train.count, splits.val.count, splits.test.count]).toEqual([54_000, 6000, 10_000]);
  });
});
