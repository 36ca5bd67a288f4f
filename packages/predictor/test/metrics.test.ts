import { describe, expect, it } from 'vitest';
import { averageRanks, kendallTauB, latencyMetrics, spearman, withinFraction } from '../src/metrics.js';

describe('latency metrics on hand-computed cases', () => {
  it('computes MAE, RMSE, MAPE and the within-tolerance fractions', () => {
    const measured = [10, 20, 40, 5];
    const predicted = [11, 19, 40, 6]; // errors 1, -1, 0, 1; relative 10%, 5%, 0%, 20%
    const m = latencyMetrics(predicted, measured);
    expect(m.mae_ms).toBeCloseTo(0.75, 12);
    expect(m.rmse_ms).toBeCloseTo(Math.sqrt(3 / 4), 12);
    expect(m.mape).toBeCloseTo((0.1 + 0.05 + 0 + 0.2) / 4, 12);
    expect(m.within5).toBe(0.5); // 5% and 0% (exactly 5% counts)
    expect(m.within10).toBe(0.75);
    expect(m.n_test).toBe(4);
    expect(withinFraction([1.2], [1], 0.1)).toBe(0);
  });

  it('ranks ties by their average rank', () => {
    expect(Array.from(averageRanks([30, 10, 20, 10, 30, 30]))).toEqual([5, 1.5, 3, 1.5, 5, 5]);
  });

  it('Spearman: 1 - 6Σd²/(n(n²-1)) without ties, Pearson of average ranks with ties', () => {
    // Ranks differ by one swap: Σd² = 2, rho = 1 - 12/60 = 0.8.
    expect(spearman([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 12);
    expect(spearman([1, 2, 3, 4], [40, 30, 20, 10])).toBeCloseTo(-1, 12);
    // x ranks [1, 2.5, 2.5, 4], y ranks [1, 2, 3.5, 3.5]: Σdxdy = 3.75, Σdx² = Σdy² = 4.5.
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 3])).toBeCloseTo(3.75 / 4.5, 12);
  });

  it('Kendall tau-b: (C - D)/sqrt((n0 - n1)(n0 - n2))', () => {
    // One discordant pair of 6: (5 - 1)/6.
    expect(kendallTauB([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(4 / 6, 12);
    // Pairs: 4 concordant, 0 discordant, one tie in x, one tie in y: 4 / sqrt(5 · 5) = 0.8.
    expect(kendallTauB([1, 2, 2, 3], [1, 2, 3, 3])).toBeCloseTo(0.8, 12);
    // The pair tied in both counts in n1 and n2 only; the other two pairs are discordant: -2 / sqrt(2 · 2).
    expect(kendallTauB([1, 2, 2], [3, 1, 1])).toBeCloseTo(-1, 12);
  });

  it('rejects mismatched lengths', () => {
    expect(() => latencyMetrics([1, 2], [1])).toThrow(/equally many/);
  });
});
