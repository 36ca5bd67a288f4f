import { describe, expect, test } from 'vitest';
import { averageRanks, kendallTauB, median, pearson, spearman } from '../src/rank-correlation.js';

describe('rank correlation', () => {
  test('ranks are 1-based and ties share the mean of the ranks they span', () => {
    expect(averageRanks([30, 10, 20, 10, 30, 30])).toEqual([5, 1.5, 3, 1.5, 5, 5]);
    expect(averageRanks([10, 30, 20, 20])).toEqual([1, 4, 2.5, 2.5]);
  });

  test("Spearman's ρ against hand-computed cases", () => {
    // x = 1..4, y = 1, 3, 2, 4: d² = 0 + 1 + 1 + 0 → ρ = 1 − 6·2 / (4·15) = 0.8.
    expect(spearman([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 12);
    expect(spearman([1, 2, 3, 4], [40, 30, 20, 10])).toBeCloseTo(-1, 12);
    const x = [1, 2, 3, 4, 5];
    expect(spearman(x, x.map((v) => v ** 3))).toBeCloseTo(1, 12);
    // Ties: ranks (1, 2.5, 2.5, 4) and (1, 2, 3.5, 3.5): covariance 3.75 over √(4.5·4.5).
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 3])).toBeCloseTo(3.75 / 4.5, 12);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
  });

  test("Kendall's τ-b against hand-computed cases", () => {
    // One discordant pair of six: (5 − 1) / 6.
    expect(kendallTauB([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(4 / 6, 12);
    // 4 concordant, 0 discordant, one tie in each list: 4 / √(5·5).
    expect(kendallTauB([1, 2, 2, 3], [1, 2, 3, 3])).toBeCloseTo(0.8, 12);
    expect(kendallTauB([1, 2, 2], [3, 1, 1])).toBeCloseTo(-1, 12);
    expect(kendallTauB([2, 2], [1, 3])).toBeNaN();
  });

  test('pearson, median, and unequal lists', () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(() => spearman([1, 2], [1])).toThrow(/equally long/);
  });
});
