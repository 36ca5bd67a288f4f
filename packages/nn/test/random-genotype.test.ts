import { describe, expect, it } from 'vitest';
import { createRng } from '@lenna/core';
import { DARTS_OPS, parseGenotype, randomGenotype, UserError, type Genotype } from '../src/index.js';

/** Pearson's χ² of observed counts against equal expected counts. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

/** χ² quantiles at 0.999 by degrees of freedom: a uniform sampler exceeds them with probability 0.001. */
const CHI2_999: Record<number, number> = { 2: 13.816, 5: 20.515, 6: 22.458, 9: 27.877, 48: 84.037 };

const DRAWS = 20_000;
const OPS = DARTS_OPS.filter((op) => op !== 'none');

function draws(seed: number, count: number, nodes = 4): Genotype[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => randomGenotype(rng, { nodes, ops: DARTS_OPS }));
}

describe('randomGenotype', () => {
  const sample = draws(15, DRAWS);

  it('draws valid genotypes: two distinct earlier inputs per node in ascending order, never none', () => {
    for (const g of sample.slice(0, 500)) {
      expect(parseGenotype(g)).toEqual(g);
      expect(g.normal_concat).toEqual([2, 3, 4, 5]);
      for (const cell of [g.normal, g.reduce]) {
        expect(cell).toHaveLength(8);
        for (let node = 0; node < 4; node++) {
          const [a, b] = [cell[2 * node][1], cell[2 * node + 1][1]];
          expect(a).toBeLessThan(b);
          expect(b).toBeLessThanOrEqual(node + 1);
        }
        expect(cell.every(([op]) => op !== 'none')).toBe(true);
      }
    }
  });

  it('draws each node’s input pair uniformly (χ² below its 0.999 quantile)', () => {
    for (const part of ['normal', 'reduce'] as const) {
      expect(new Set(sample.map((g) => `${g[part][0][1]},${g[part][1][1]}`))).toEqual(new Set(['0,1']));
      for (let node = 1; node < 4; node++) {
        const inputs = node + 2;
        const counts = new Map<string, number>();
        for (let a = 0; a < inputs; a++) for (let b = a + 1; b < inputs; b++) counts.set(`${a},${b}`, 0);
        for (const g of sample) {
          const key = `${g[part][2 * node][1]},${g[part][2 * node + 1][1]}`;
          counts.set(key, counts.get(key)! + 1);
        }
        expect(counts.size).toBe((inputs * (inputs - 1)) / 2);
        expect(chiSquare([...counts.values()])).toBeLessThan(CHI2_999[counts.size - 1]);
      }
    }
  });

  it('draws ops uniformly on every edge slot, and the two cells independently', () => {
    for (const part of ['normal', 'reduce'] as const) {
      for (let slot = 0; slot < 8; slot++) {
        const counts = OPS.map((op) => sample.filter((g) => g[part][slot][0] === op).length);
        expect(chiSquare(counts)).toBeLessThan(CHI2_999[6]);
      }
    }
    // The joint of the normal and the reduction cell's first op: 49 cells, uniform if independent.
    const joint = new Array(OPS.length ** 2).fill(0);
    for (const g of sample) joint[OPS.indexOf(g.normal[0][0] as (typeof OPS)[number]) * OPS.length + OPS.indexOf(g.reduce[0][0] as (typeof OPS)[number])]++;
    expect(chiSquare(joint)).toBeLessThan(CHI2_999[48]);
  });

  it('has bounds that catch a 5% bias at this sample size', () => {
    // The same test on one op 5% likelier than the others (a bias a bug could well cause) fails.
    const rng = createRng(3);
    const counts = new Array(OPS.length).fill(0);
    const weights = OPS.map((_, k) => (k === 2 ? 1.05 : 1));
    for (let i = 0; i < DRAWS * 16; i++) counts[rng.categorical(weights)]++;
    expect(chiSquare(counts)).toBeGreaterThan(CHI2_999[6]);
  });

  it('is one stream: the same seed gives the same cells, each using 8·nodes numbers', () => {
    expect(draws(15, 3)).toEqual(sample.slice(0, 3));
    expect(draws(16, 3)).not.toEqual(sample.slice(0, 3));
    const rng = createRng(9);
    randomGenotype(rng, { nodes: 3, ops: DARTS_OPS });
    const skipped = createRng(9);
    for (let i = 0; i < 24; i++) skipped.next();
    expect(rng.getState()).toEqual(skipped.getState());
  });

  it('keeps to the op set and node count it is given', () => {
    const g = randomGenotype(createRng(1), { nodes: 2, ops: ['none', 'skip_connect'] });
    expect([g.normal.length, g.reduce.length, g.normal_concat, g.reduce_concat]).toEqual([4, 4, [2, 3], [2, 3]]);
    expect([...g.normal, ...g.reduce].every(([op]) => op === 'skip_connect')).toBe(true);
    expect(() => randomGenotype(createRng(1), { nodes: 4, ops: ['none'] })).toThrow(UserError);
    expect(() => randomGenotype(createRng(1), { nodes: 0, ops: DARTS_OPS })).toThrow(/nodes is 0/);
  });
});
