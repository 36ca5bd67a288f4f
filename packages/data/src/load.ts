import { deriveSeed } from '@lenna/core';
import { CIFAR_NORMALISATION, loadCifarRaw } from './cifar.js';
import { UserError } from './errors.js';
import { FASHION_MNIST_NORMALISATION, loadFashionMnistRaw } from './fashion-mnist.js';
import { loadMnistRaw, MNIST_NORMALISATION } from './mnist.js';
import { normaliseRaw, type RawSet } from './raw.js';
import { resizeImages } from './resize.js';
import { carveVal, checkLimit, limitSplits, splitRaw } from './split.js';
import { generateSyntheticRaw, syntheticNormalisation } from './synthetic.js';
import { DATASET_NAMES, type DatasetSpec, type ImageSet, type Normalisation, type Splits } from './types.js';

export const DEFAULT_FRACTIONS = { mnist: { val: 0.15, test: 0.15 }, synthetic: { val: 0.15, test: 0.15 }, cifar10: { val: 0.1 }, 'fashion-mnist': { val: 0.1 } };

export function checkDatasetName(name: string): void {
  if (!(DATASET_NAMES as readonly string[]).includes(name)) {
    throw new UserError(`Unknown data set "${name}"; expected one of ${DATASET_NAMES.join(', ')}.`);
  }
}

/** The splits as bytes, before normalisation and before `limit`. `cifarRecords` (tests only) shrinks the CIFAR-10 files expected. */
export async function loadRawSplits(spec: DatasetSpec, opts: { cifarRecords?: number } = {}): Promise<{ splits: Splits<RawSet>; normalisation: Normalisation }> {
  checkDatasetName(spec.name);
  const splitSeed = deriveSeed(spec.seed, 'split');
  const where = `Data set ${spec.name}`;
  if (spec.name === 'mnist') {
    const fractions = { val: spec.valFraction ?? DEFAULT_FRACTIONS.mnist.val, test: spec.testFraction ?? DEFAULT_FRACTIONS.mnist.test };
    return { splits: splitRaw(await loadMnistRaw(), fractions, splitSeed, where), normalisation: MNIST_NORMALISATION };
  }
  if (spec.name === 'synthetic') {
    const fractions = { val: spec.valFraction ?? DEFAULT_FRACTIONS.synthetic.val, test: spec.testFraction ?? DEFAULT_FRACTIONS.synthetic.test };
    const all = generateSyntheticRaw(spec.synthetic, deriveSeed(spec.seed, 'generate'));
    return { splits: splitRaw(all, fractions, splitSeed, where), normalisation: syntheticNormalisation(all.channels) };
  }
  if (spec.testFraction !== undefined) {
    throw new UserError(`Data set ${spec.name} takes no testFraction (it is ${spec.testFraction}): its test split is the official test set.`);
  }
  const cifar = spec.name === 'cifar10';
  const { train, test } = cifar ? await loadCifarRaw(spec.path, { records: opts.cifarRecords }) : await loadFashionMnistRaw(spec.path);
  const carved = carveVal(train, spec.valFraction ?? DEFAULT_FRACTIONS[spec.name].val, splitSeed, where);
  return { splits: { ...carved, test }, normalisation: cifar ? CIFAR_NORMALISATION : FASHION_MNIST_NORMALISATION };
}

/**
 * Loads a data set, splits it by `spec.seed` (mnist, synthetic: one seeded shuffle cut into
 * test / val / train; cifar10, fashion-mnist: val carved from the official training set, test is the official test set),
 * keeps at most `spec.limit` images per split and normalises per channel.
 */
export async function loadDataset(spec: DatasetSpec): Promise<Splits<ImageSet>> {
  checkLimit(spec.limit);
  const { splits, normalisation } = await loadRawSplits(spec);
  const limited = limitSplits(splits, spec.limit);
  const prepare = (set: RawSet): ImageSet => resizeImages(normaliseRaw(set, normalisation), spec.resize);
  return { train: prepare(limited.train), val: prepare(limited.val), test: prepare(limited.test) };
}
