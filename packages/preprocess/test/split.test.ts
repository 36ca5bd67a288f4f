import { describe, expect, it } from 'vitest';
import { UserError } from '@lenna/core';
import { stratifiedSplit } from '../src/split.js';

function keys(counts: Record<string, number>): string[] {
  return Object.entries(counts).flatMap(([key, n]) => new Array<string>(n).fill(key));
}

describe('stratifiedSplit', () => {
  const data = keys({ a: 3, b: 20, c: 7, d: 100 });
  const fractions = { valFraction: 0.15, testFraction: 0.15 };

  it('puts every shape in every split, each row exactly once', () => {
    const split = stratifiedSplit(data, fractions, 0);
    for (const part of [split.train, split.val, split.test]) {
      expect(new Set(part.map((i) => data[i]))).toEqual(new Set(['a', 'b', 'c', 'd']));
    }
    const all = [...split.train, ...split.val, ...split.test].sort((x, y) => x - y);
    expect(all).toEqual(data.map((_, i) => i));
  });

  it('follows the fractions on a large stratum', () => {
    const split = stratifiedSplit(data, fractions, 0);
    expect(split.test.filter((i) => data[i] === 'd')).toHaveLength(15);
    expect(split.val.filter((i) => data[i] === 'd')).toHaveLength(15);
  });

  it('is reproducible by seed and differs between seeds', () => {
    expect(stratifiedSplit(data, fractions, 3)).toEqual(stratifiedSplit(data, fractions, 3));
    expect(stratifiedSplit(data, fractions, 3).test).not.toEqual(stratifiedSplit(data, fractions, 4).test);
  });

  it('keeps a train row even with large fractions', () => {
    const split = stratifiedSplit(keys({ a: 4 }), { valFraction: 0.45, testFraction: 0.45 }, 0);
    expect(split.train.length).toBeGreaterThanOrEqual(1);
    expect(split.val.length).toBeGreaterThanOrEqual(1);
    expect(split.test.length).toBeGreaterThanOrEqual(1);
  });

  it('refuses a shape with fewer than 3 rows, naming it', () => {
    expect(() => stratifiedSplit(keys({ a: 5, lonely: 2 }), fractions, 0)).toThrow(UserError);
    expect(() => stratifiedSplit(keys({ a: 5, lonely: 2 }), fractions, 0)).toThrow(/lonely .*has 2 row/);
  });
});
