import { describe, expect, test } from 'vitest';
import { formatDuration } from '../src/generate.js';
import { pearson, ranks, spearman } from '../src/stats.js';

describe('statistics used by the tests and the log', () => {
  test('ranks average ties; Spearman is 1 for any increasing map and -1 for a decreasing one', () => {
    expect(ranks([10, 30, 20, 20])).toEqual([1, 4, 2.5, 2.5]);
    const x = [1, 2, 3, 4, 5];
    expect(spearman(x, x.map((v) => v ** 3))).toBeCloseTo(1, 12);
    expect(spearman(x, x.map((v) => -Math.exp(v)))).toBeCloseTo(-1, 12);
    // Hand-computed: x = 1..4, y = 1, 3, 2, 4 → d² = 0+1+1+0 → ρ = 1 - 6·2/(4·15) = 0.8.
    expect(spearman([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 12);
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
  });

  test('durations read as seconds, minutes, then hours', () => {
    expect(formatDuration(4_400)).toBe('4s');
    expect(formatDuration(150_000)).toBe('3m');
    expect(formatDuration(2 * 3_600_000 + 5 * 60_000)).toBe('2h05m');
  });
});
