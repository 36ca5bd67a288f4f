import { describe, expect, it } from 'vitest';
import { averageRanks, ceilingWithin10, kendallTauB, labelNoise, latencyMetrics, medianWithinShapeSpearman, scopedMetrics, spearman, testScopes, withinFraction } from '../src/metrics.js';

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

describe('metrics by scope', () => {
  // Six test rows of two shapes, rows 1 and 4 one-hot.
  const keys = ['b', 'a', 'b', 'a', 'a', 'b'];
  const oneHot = [false, true, false, false, true, false];
  const measured = [10, 20, 30, 40, 50, 60];
  const good = [11, 20, 29, 44, 50, 60]; // ranks right in both shapes
  const bad = [60, 50, 40, 30, 20, 10]; // every shape ranked backwards

  it('has the scopes all, one_hot and one per shape (sorted), each with its rows', () => {
    expect(testScopes(keys, oneHot)).toEqual([
      { name: 'all', rows: [0, 1, 2, 3, 4, 5] },
      { name: 'one_hot', rows: [1, 4] },
      { name: 'shape:a', rows: [1, 3, 4] },
      { name: 'shape:b', rows: [0, 2, 5] },
    ]);
    expect(testScopes(['a'], [false]).map((s) => s.name)).toEqual(['all', 'shape:a']);
  });

  it('computes each model’s metrics on each scope’s rows alone', () => {
    const rows = scopedMetrics({ good, bad }, measured, testScopes(keys, oneHot));
    expect(rows.map((r) => `${r.model}/${r.scope}/${r.n_test}`)).toEqual([
      'good/all/6', 'good/one_hot/2', 'good/shape:a/3', 'good/shape:b/3',
      'bad/all/6', 'bad/one_hot/2', 'bad/shape:a/3', 'bad/shape:b/3',
    ]);
    const at = (model: string, scope: string) => rows.find((r) => r.model === model && r.scope === scope)!;
    // shape a: measured 20, 40, 50 vs 20, 44, 50 → errors 0, 10%, 0.
    expect(at('good', 'shape:a').within10).toBe(1);
    expect(at('good', 'shape:a').mape).toBeCloseTo(0.1 / 3, 12);
    expect(at('good', 'shape:b').spearman).toBeCloseTo(1, 12);
    expect(at('bad', 'shape:a').spearman).toBeCloseTo(-1, 12);
    expect(medianWithinShapeSpearman(rows, 'good')).toBeCloseTo(1, 12);
    expect(medianWithinShapeSpearman(rows, 'bad')).toBeCloseTo(-1, 12);
  });
});

describe('label noise and the ceiling', () => {
  it('label noise: median and 90th percentile of se / latency, rows without se left out', () => {
    expect(labelNoise([1, 2, 3, NaN, 0.5], [10, 10, 10, 10, 10])).toEqual({ median_se: expect.closeTo(0.15, 12), p90_se: expect.closeTo(0.27, 12) });
    expect(labelNoise([NaN], [1]).median_se).toBeNaN();
  });

  it('a perfect predictor scores 1 against exact labels, and Φ(0.1/(0.9 s)) − Φ(−0.1/(1.1 s)) against labels of relative error s', () => {
    expect(ceilingWithin10([0, 0], [5, 7])).toBe(1);
    // s = 0.1: |truth − label| ≤ 0.1·label ⇔ −0.1/1.1 ≤ ε/truth ≤ 0.1/0.9 with ε ~ N(0, (0.1·truth)²):
    // Φ(1.1111) − Φ(−0.9091) = 0.86674 − 0.18165 = 0.68509.
    expect(ceilingWithin10([1, 3], [10, 30], 100000, 1)).toBeCloseTo(0.6851, 2);
    expect(ceilingWithin10([NaN], [1])).toBeNaN();
  });
});
