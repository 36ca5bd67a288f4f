import { describe, expect, it } from 'vitest';
import { cellEdges, edgeCount, nodesForEdges } from '../src/index.js';

describe('edge numbering', () => {
  it('numbers node by node, predecessor by predecessor: node i has 2 + i incoming edges', () => {
    expect(cellEdges(2)).toEqual([
      { node: 0, from: 0 }, { node: 0, from: 1 },
      { node: 1, from: 0 }, { node: 1, from: 1 }, { node: 1, from: 2 },
    ]);
    expect(cellEdges(4)).toHaveLength(14);
    expect(cellEdges(4)[13]).toEqual({ node: 3, from: 4 });
  });

  it('counts n(n+3)/2 edges and finds the node count back', () => {
    for (let n = 1; n <= 6; n++) {
      expect(edgeCount(n)).toBe(cellEdges(n).length);
      expect(nodesForEdges(edgeCount(n))).toBe(n);
    }
    expect(() => nodesForEdges(13)).toThrow(/13 edges is not a DARTS cell/);
  });
});
