import { describe, expect, test } from 'vitest';
import { cellEdges } from '@lenna/latency-model';
import { isOneHotRow, measurementOrder, oneHotProbabilities, planRow, softmax, type RowPlanOptions } from '../src/sampling.js';
import { createRng, deriveSeed } from '@lenna/core';
import { DARTS_OP_NAMES } from '../src/ops.js';

const ops = [...DARTS_OP_NAMES];
const options: RowPlanOptions = { seed: 3, nodes: 4, ops, radii: [0.01, 0.05, 0.1, 1, 5, 10], rowsPerShape: 8, oneHotFractions: [0.25, 0.25, 1] };

describe('row plans', () => {
  test('a row is a pure function of seed and index: same inputs, same row; other index or seed, other row', () => {
    expect(planRow(options, 5)).toEqual(planRow(options, 5));
    expect(planRow(options, 5).probs).not.toEqual(planRow(options, 6).probs);
    expect(planRow({ ...options, seed: 4 }, 5).probs).not.toEqual(planRow(options, 5).probs);
    expect(planRow(options, 5).seed).toBe(deriveSeed(3, 'row 5'));
    expect(planRow(options, 5).gateSeed).toBe(deriveSeed(3, 'gates 5'));
  });

  test('the measurement order is a seeded permutation of every row', () => {
    const order = measurementOrder(50, 4);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(measurementOrder(50, 4)).toEqual(order);
    expect(measurementOrder(50, 5)).not.toEqual(order);
  });

  test('rows are shape-major and round(fraction·rowsPerShape) of each shape are one-hot, with each shape’s fraction', () => {
    const plans = Array.from({ length: 24 }, (_, i) => planRow(options, i));
    expect(plans.map((p) => p.shapeIndex)).toEqual([...Array(8).fill(0), ...Array(8).fill(1), ...Array(8).fill(2)]);
    for (let s = 0; s < 2; s++) expect(plans.filter((p) => p.shapeIndex === s && p.oneHot)).toHaveLength(2);
    expect(plans.filter((p) => p.shapeIndex === 2 && p.oneHot)).toHaveLength(8);
    expect(Array.from({ length: 10 }, (_, k) => isOneHotRow(k, 0)).some(Boolean)).toBe(false);
    expect(Array.from({ length: 10 }, (_, k) => isOneHotRow(k, 1)).every(Boolean)).toBe(true);
    expect(Array.from({ length: 10 }, (_, k) => isOneHotRow(k, 0.3)).filter(Boolean)).toHaveLength(3);
  });

  test('softmax rows are distributions; radius sets how peaked they are; every radius is drawn', () => {
    const plans = Array.from({ length: 400 }, (_, i) => planRow({ ...options, rowsPerShape: 400, oneHotFractions: [0] }, i));
    for (const p of plans) {
      expect(p.probs).toHaveLength(14);
      for (const row of p.probs) {
        expect(row).toHaveLength(8);
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      }
      const maxP = Math.max(...p.probs.flat());
      // With α in [-r, r], max/min probability ratio is at most e^{2r}.
      const bound = Math.exp(2 * p.radius) / (7 + Math.exp(2 * p.radius));
      expect(maxP).toBeLessThanOrEqual(bound + 1e-12);
    }
    expect(new Set(plans.map((p) => p.radius))).toEqual(new Set(options.radii));
    const peaked = plans.filter((p) => p.radius === 10).map((p) => Math.max(...p.probs[0]));
    const flat = plans.filter((p) => p.radius === 0.01).map((p) => Math.max(...p.probs[0]));
    expect(Math.min(...flat)).toBeLessThan(0.13);
    expect(peaked.reduce((a, b) => a + b, 0) / peaked.length).toBeGreaterThan(0.6);
  });

  test('softmax matches its definition and is stable for large logits', () => {
    const p = softmax([1, 2, 3]);
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    expect(p[2]).toBeCloseTo(Math.exp(3) / z, 14);
    expect(softmax([1000, 1000])).toEqual([0.5, 0.5]);
  });
});

describe('one-hot rows', () => {
  test('each node keeps exactly 2 distinct incoming edges with one real op; the rest are none', () => {
    const edges = cellEdges(4);
    for (let seed = 0; seed < 50; seed++) {
      const probs = oneHotProbabilities(createRng(seed), 4, ops);
      const chosen = probs.map((row) => row.indexOf(1));
      probs.forEach((row) => expect(row.reduce((a, b) => a + b, 0)).toBe(1));
      for (let node = 0; node < 4; node++) {
        const incoming = edges.flatMap((e, i) => (e.node === node ? [chosen[i]] : []));
        expect(incoming.filter((op) => op !== 0)).toHaveLength(2);
      }
    }
  });

  test('an op set without none cannot make one-hot rows', () => {
    expect(() => oneHotProbabilities(createRng(1), 4, ['sep_conv_3x3', 'skip_connect'])).toThrow(/none/);
  });
});
