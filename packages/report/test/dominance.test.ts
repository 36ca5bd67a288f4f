import { describe, expect, it } from 'vitest';
import { dominates, searchDominance } from '../src/dominance.js';
import { row } from './rows.js';

const searched = (instance: string, latency_ms: number, test_acc: number) => row({ instance, kind: 'search', latency_ms, test_acc });
const random = (instance: string, latency_ms: number, test_acc: number) => row({ instance, kind: 'random', latency_ms, test_acc });

describe('does the searched front dominate the random cells', () => {
  it('follows the definition on hand-made points: ≥ accuracy and ≤ latency, strictly better in one', () => {
    const a = { latency_ms: 2, test_acc: 0.9 };
    expect(dominates(a, { latency_ms: 3, test_acc: 0.9 })).toBe(true); // as accurate, faster
    expect(dominates(a, { latency_ms: 2, test_acc: 0.8 })).toBe(true); // as fast, more accurate
    expect(dominates(a, { latency_ms: 2, test_acc: 0.9 })).toBe(false); // equal: not strictly better
    expect(dominates(a, { latency_ms: 1, test_acc: 0.8 })).toBe(false); // a trade-off, not domination
    expect(dominates(a, { latency_ms: 3, test_acc: 0.95 })).toBe(false);
  });

  it('counts the random cells some searched cell dominates, and says so in one sentence', () => {
    const rows = [
      searched('s-fast', 1.8, 0.91),
      searched('s-accurate', 6.5, 0.975),
      searched('s-dominated', 7.0, 0.95),
      random('r-slow', 2.0, 0.9), // dominated by s-fast
      random('r-fastest', 1.5, 0.93), // faster than every searched cell
      random('r-equal', 6.5, 0.975), // equal to s-accurate: not dominated
      random('r-worse', 8.0, 0.96), // dominated by s-accurate
      random('r-untimed', 1, 0.5),
    ];
    rows[rows.length - 1].latency_ms = null;
    const d = searchDominance(rows);
    expect([d.searched, d.random]).toEqual([3, 4]);
    expect(d.dominated).toEqual(['r-slow', 'r-worse']);
    expect(d.undominated).toEqual(['r-fastest', 'r-equal']);
    expect(d.fraction).toBe(0.5);
    expect(d.sentence).toBe('The searched Pareto front dominates 2 of 4 random cells (50%).');
  });

  it('says so when the search dominates none, and when there is nothing to compare', () => {
    const none = searchDominance([searched('s', 5, 0.9), random('r', 1, 0.95)]);
    expect(none.sentence).toBe('The searched Pareto front dominates 0 of 1 random cell (0%).');
    expect(searchDominance([searched('s', 5, 0.9)]).sentence).toMatch(/^No random cell was retrained/);
    expect(searchDominance([random('r', 1, 0.9)]).sentence).toMatch(/^No searched cell/);
    expect(searchDominance([searched('s', 5, 0.9)]).fraction).toBeNull();
  });
});
