import { describe, expect, it } from 'vitest';
import { groupLabel, groupRows, hasReplicates, meanStd } from '../src/groups.js';
import { groupsToMarkdown } from '../src/table.js';
import { row } from './rows.js';

describe('mean ± standard deviation over seeds', () => {
  it('computes the sample standard deviation (n − 1), by hand on 0.9, 0.92, 0.97', () => {
    // mean 0.93; squared deviations 0.0009, 0.0001, 0.0016 → 0.0026 / 2 = 0.0013
    const s = meanStd([0.9, 0.92, 0.97]);
    expect(s.mean).toBeCloseTo(0.93, 12);
    expect(s.std).toBeCloseTo(Math.sqrt(0.0013), 12);
    expect(meanStd([4])).toEqual({ mean: 4, std: null, n: 1 });
    expect(meanStd([])).toEqual({ mean: null, std: null, n: 0 });
  });

  it('names a group by the instance without its seed (and a random cell’s draw index)', () => {
    expect(groupLabel({ instance: 'retrain-eval@lambda=0.1,seed=2', kind: 'search' })).toBe('retrain-eval@lambda=0.1');
    expect(groupLabel({ instance: 'retrain-eval@darts-search.seed=2,lambda=1', kind: 'search' })).toBe('retrain-eval@lambda=1');
    expect(groupLabel({ instance: 'retrain-random@index=7', kind: 'random' })).toBe('retrain-random');
    // A search's `index` key is a setting, not a replicate.
    expect(groupLabel({ instance: 'retrain-eval@index=7', kind: 'search' })).toBe('retrain-eval@index=7');
  });

  it('groups by everything but the seed: λ, target and kind apart, seeds together', () => {
    const rows = [
      row({ instance: 'retrain-eval@lambda=0,seed=0', lambda: 0, seed: 0, test_acc: 0.9, latency_ms: 6 }),
      row({ instance: 'retrain-eval@lambda=0,seed=1', lambda: 0, seed: 1, test_acc: 0.92, latency_ms: 7 }),
      row({ instance: 'retrain-eval@lambda=0,seed=2', lambda: 0, seed: 2, test_acc: 0.97, latency_ms: 8 }),
      row({ instance: 'retrain-eval@lambda=1,seed=0', lambda: 1, seed: 0, test_acc: 0.9, latency_ms: 3 }),
      row({ instance: 'retrain-target@seed=0', lambda: 1, seed: 0, target_ms: 5, test_acc: 0.91, latency_ms: 5.2 }),
      row({ instance: 'retrain-random@index=0', kind: 'random', test_acc: 0.8, latency_ms: 4 }),
      row({ instance: 'retrain-random@index=1', kind: 'random', test_acc: 0.9, latency_ms: 6 }),
    ];
    const groups = groupRows(rows);
    expect(groups.map((g) => [g.group, g.kind, g.lambda, g.target_ms, g.runs])).toEqual([
      ['retrain-eval@lambda=0', 'search', 0, null, 3],
      ['retrain-eval@lambda=1', 'search', 1, null, 1],
      ['retrain-target', 'search', 1, 5, 1],
      ['retrain-random', 'random', null, null, 2],
    ]);
    expect(groups[0].stats.test_acc.mean).toBeCloseTo(0.93, 12);
    expect(groups[0].stats.test_acc.std).toBeCloseTo(Math.sqrt(0.0013), 12);
    expect(groups[0].stats.latency_ms).toEqual({ mean: 7, std: 1, n: 3 });
    expect(groups[3].stats.latency_ms.std).toBeCloseTo(Math.SQRT2, 12);
    expect(groups[1].stats.test_acc.std).toBeNull();
    expect(hasReplicates(groups)).toBe(true);
    expect(hasReplicates(groupRows(rows.slice(3, 5)))).toBe(false);
    const md = groupsToMarkdown(groups);
    expect(md).toContain('| retrain-eval@lambda=0 | search | 0 | – | 3 | 93.00 ± 3.61 | 7.00 ± 1.00 |');
  });
});
