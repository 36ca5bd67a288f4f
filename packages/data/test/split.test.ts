import { describe, expect, it } from 'vitest';
import { UserError } from '../src/errors.js';
import { carveVal, limitSplits, splitRaw } from '../src/split.js';
import { splitForSearch } from '../src/subset.js';
import { indexedImages, indexedRaw, sorted } from './helpers.js';

const all = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('splitRaw', () => {
  const raw = indexedRaw(101);

  it('is disjoint, covers every image, and sizes follow the fractions (rounded down)', () => {
    const splits = splitRaw(raw, { val: 0.2, test: 0.1 }, 7, 'test');
    expect(splits.test.count).toBe(10);
    expect(splits.val.count).toBe(20);
    expect(splits.train.count).toBe(71);
    expect(sorted([...splits.train.labels, ...splits.val.labels, ...splits.test.labels])).toEqual(all(101));
  });

  it('keeps pixels with their labels', () => {
    const { train } = splitRaw(raw, { val: 0.2, test: 0.1 }, 7, 'test');
    for (let i = 0; i < train.count; i++) expect(train.pixels[i * 4 + 3]).toBe(train.labels[i] % 256);
  });

  it('is deterministic for a seed and changes with it', () => {
    const a = splitRaw(raw, { val: 0.2, test: 0.1 }, 7, 'test');
    const b = splitRaw(raw, { val: 0.2, test: 0.1 }, 7, 'test');
    const c = splitRaw(raw, { val: 0.2, test: 0.1 }, 8, 'test');
    expect(Array.from(a.train.labels)).toEqual(Array.from(b.train.labels));
    expect(Array.from(a.test.labels)).not.toEqual(Array.from(c.test.labels));
  });

  it('rejects fractions that leave no training images', () => {
    expect(() => splitRaw(raw, { val: 0.5, test: 0.5 }, 1, 'Data set mnist')).toThrow(/valFraction \+ testFraction is 1/);
    expect(() => splitRaw(raw, { val: -0.1, test: 0.1 }, 1, 'Data set mnist')).toThrow(UserError);
  });

  it('carves val from train disjointly and limits per split', () => {
    const { train, val } = carveVal(raw, 0.25, 3, 'test');
    expect(val.count).toBe(25);
    expect(sorted([...train.labels, ...val.labels])).toEqual(all(101));
    const limited = limitSplits({ train, val, test: raw }, 10);
    expect([limited.train.count, limited.val.count, limited.test.count]).toEqual([10, 10, 10]);
    expect(Array.from(limited.train.labels)).toEqual(Array.from(train.labels.slice(0, 10)));
    expect(() => limitSplits({ train, val, test: raw }, 0)).toThrow(/limit is 0/);
  });
});

describe('splitForSearch', () => {
  const train = indexedImages(51);

  it('splits into a weights part of floor(N·portion) and an arch part, disjoint and covering', () => {
    const { weights, arch } = splitForSearch(train, 0.5, 11);
    expect(weights.count).toBe(25);
    expect(arch.count).toBe(26);
    expect(sorted([...weights.labels, ...arch.labels])).toEqual(all(51));
    for (let i = 0; i < arch.count; i++) expect(arch.images[i * 4]).toBe(arch.labels[i]);
  });

  it('is seeded', () => {
    const a = splitForSearch(train, 0.3, 1);
    const b = splitForSearch(train, 0.3, 1);
    const c = splitForSearch(train, 0.3, 2);
    expect(Array.from(a.weights.labels)).toEqual(Array.from(b.weights.labels));
    expect(Array.from(a.weights.labels)).not.toEqual(Array.from(c.weights.labels));
  });

  it('rejects a portion outside (0, 1)', () => {
    expect(() => splitForSearch(train, 1, 1)).toThrow(/trainPortion is 1/);
    expect(() => splitForSearch(train, 0, 1)).toThrow(UserError);
  });
});
