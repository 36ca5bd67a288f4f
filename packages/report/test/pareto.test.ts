import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { paretoFront, type TradeoffPoint } from '../src/pareto.js';

/** The definition, checked pair by pair: dominated if another point is no worse in both and better in one. */
function dominated(p: TradeoffPoint, points: TradeoffPoint[]): boolean {
  return points.some((q) => q.latency <= p.latency && q.accuracy >= p.accuracy && (q.latency < p.latency || q.accuracy > p.accuracy));
}

describe('paretoFront', () => {
  it('keeps the fast and the accurate point, drops the one slower and less accurate', () => {
    const points = [
      { latency: 1.8, accuracy: 0.91 },
      { latency: 6.5, accuracy: 0.975 },
      { latency: 7.0, accuracy: 0.95 },
    ];
    expect(paretoFront(points)).toEqual([0, 1]);
  });

  it('agrees with the pairwise definition on random point sets (one of equal points kept)', () => {
    const point = fc.record({ latency: fc.integer({ min: 1, max: 8 }), accuracy: fc.integer({ min: 0, max: 8 }) });
    fc.assert(
      fc.property(fc.array(point, { maxLength: 12 }), (points) => {
        const front = paretoFront(points);
        const keys = front.map((i) => `${points[i].latency}/${points[i].accuracy}`);
        const expected = new Set(points.filter((p) => !dominated(p, points)).map((p) => `${p.latency}/${p.accuracy}`));
        expect(new Set(keys)).toEqual(expected);
        expect(keys.length).toBe(expected.size);
        // Ordered by latency, accuracy rising along the front.
        for (let k = 1; k < front.length; k++) {
          expect(points[front[k]].latency).toBeGreaterThan(points[front[k - 1]].latency);
          expect(points[front[k]].accuracy).toBeGreaterThan(points[front[k - 1]].accuracy);
        }
      }),
    );
  });
});
