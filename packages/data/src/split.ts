import { createRng } from '@lenna/core';
import { UserError } from './errors.js';
import { limitRaw, selectRaw, type RawSet } from './raw.js';
import type { Splits } from './types.js';

/** 0..count-1 in a seeded random order. */
export function shuffledIndices(count: number, seed: number): number[] {
  const indices = Array.from({ length: count }, (_, i) => i);
  return createRng(seed).shuffle(indices);
}

export function checkFraction(key: string, value: number, where: string): void {
  if (!Number.isFinite(value) || value < 0 || value >= 1) {
    throw new UserError(`${where}: ${key} is ${value}; it must be a number in [0, 1).`);
  }
}

/**
 * Splits one pool of images into train / val / test by a seeded shuffle: the first
 * `testFraction` of the shuffled order is test, the next `valFraction` val, the rest train.
 * Fractions round down, so every image lands in exactly one split.
 */
export function splitRaw(set: RawSet, fractions: { val: number; test: number }, seed: number, where: string): Splits<RawSet> {
  checkFraction('valFraction', fractions.val, where);
  checkFraction('testFraction', fractions.test, where);
  if (fractions.val + fractions.test >= 1) {
    throw new UserError(`${where}: valFraction + testFraction is ${fractions.val + fractions.test}; it must be below 1 to leave training images.`);
  }
  const order = shuffledIndices(set.count, seed);
  const testCount = Math.floor(set.count * fractions.test);
  const valCount = Math.floor(set.count * fractions.val);
  return {
    train: selectRaw(set, order.slice(testCount + valCount)),
    val: selectRaw(set, order.slice(testCount, testCount + valCount)),
    test: selectRaw(set, order.slice(0, testCount)),
  };
}

/** Carves a seeded `valFraction` of `train` out as val (for data sets with an official test split). */
export function carveVal(train: RawSet, valFraction: number, seed: number, where: string): { train: RawSet; val: RawSet } {
  checkFraction('valFraction', valFraction, where);
  const order = shuffledIndices(train.count, seed);
  const valCount = Math.floor(train.count * valFraction);
  return { train: selectRaw(train, order.slice(valCount)), val: selectRaw(train, order.slice(0, valCount)) };
}

export function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new UserError(`Data set limit is ${limit}; it must be a positive integer (images per split).`);
  }
}

export function limitSplits(splits: Splits<RawSet>, limit: number | undefined): Splits<RawSet> {
  checkLimit(limit);
  return { train: limitRaw(splits.train, limit), val: limitRaw(splits.val, limit), test: limitRaw(splits.test, limit) };
}
