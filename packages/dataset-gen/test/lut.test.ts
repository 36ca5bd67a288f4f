import { describe, expect, test } from 'vitest';
import { additiveCoefficients, additiveEstimateMs, choiceAdditiveMs, lutSites, OpLookupTable, opLutTable, type LutEntry } from '../src/lut.js';
import type { BatchedCellShape } from '@lenna/latency-model';
import { quantile } from '../src/stats.js';

const ops = ['none', 'skip_connect', 'sep_conv_3x3'];
// A 1-node reduction cell: edges 0 and 1, both from the inputs, both stride 2.
const shape: BatchedCellShape = { reduction: true, reductionPrev: false, cPrevPrev: 6, cPrev: 8, c: 4, hw: 8, batch: 2, kind: 'search' };

/** A table whose every op costs a known constant: its timings are that constant. */
function constantLut(cost: (site: { op: string; stride: number; hw: number }) => number): LutEntry[] {
  return lutSites([shape], 1, ops).map((site) => ({ ...site, samplesMs: [cost(site), cost(site), cost(site)] }));
}

describe('op lookup table', () => {
  test('sites: each op at each edge geometry once, plus both preprocessing ops', () => {
    const sites = lutSites([shape], 1, ops);
    // 2 edges share one geometry (stride 2, hw 8): 3 ops; plus 2 preprocess ops.
    expect(sites).toHaveLength(5);
    expect(sites.filter((s) => s.op.startsWith('preprocess_'))).toHaveLength(2);
    const twoNodes = lutSites([shape], 2, ops);
    // node 1 adds an edge from node 0 at stride 1 on the halved map: 3 more sites.
    expect(twoNodes).toHaveLength(8);
    expect(twoNodes.some((s) => s.stride === 1 && s.hw === 4)).toBe(true);
  });

  test('the additive estimate is Σ p·LUT plus the preprocessing, checked by hand', () => {
    const costs: Record<string, number> = { none: 0, skip_connect: 1, sep_conv_3x3: 10, preprocess_relu_conv_bn: 0.5 };
    const lut = new OpLookupTable(constantLut((s) => costs[s.op]), 0.4);
    const probs = [
      [0.5, 0.25, 0.25],
      [0, 0, 1],
    ];
    // edge 0: 0.25·1 + 0.25·10 = 2.75; edge 1: 10; preprocessing: 0.5 + 0.5.
    expect(additiveEstimateMs(shape, probs, ops, 1, lut)).toBeCloseTo(13.75, 12);
    const coefficients = additiveCoefficients(shape, ops, 1, lut);
    expect(coefficients).toEqual({ costs: [0, 1, 10, 0, 1, 10], constantMs: 1 });
    // The discrete cell with skip_connect on edge 0 and sep_conv_3x3 on edge 1: 1 + 10 + 1.
    expect(choiceAdditiveMs(coefficients, [1, 2], 3)).toBeCloseTo(12, 12);
    // Another kind is another site: the search table has no eval entries.
    expect(() => additiveEstimateMs({ ...shape, kind: 'eval' }, probs, ops, 1, lut)).toThrow(/no entry/);
  });

  test('the estimate uses the protocol quantile of the op timings', () => {
    const entries = lutSites([shape], 1, ops).map((site) => ({ ...site, samplesMs: [1, 2, 3, 4, 5] }));
    const probs = [[0, 1, 0], [0, 1, 0]];
    const at = (q: number) => additiveEstimateMs(shape, probs, ops, 1, new OpLookupTable(entries, q));
    expect(at(0)).toBeCloseTo(4 * 1, 12);
    expect(at(0.5)).toBeCloseTo(4 * 3, 12);
    expect(() => additiveEstimateMs({ ...shape, c: 8 }, probs, ops, 1, new OpLookupTable(entries, 0.5))).toThrow(/no entry/);
  });

  test('the op-lut table holds median, quantiles and minimum of each op', () => {
    const entries = constantLut(() => 1).map((e, i) => ({ ...e, samplesMs: [4, 1, 3, 2, 5].map((v) => v * (i + 1)) }));
    const table = opLutTable(entries);
    expect(table.numRows).toBe(entries.length);
    const row = table.get(1)!.toJSON();
    expect(row.median_ms).toBe(6);
    expect(row.min_ms).toBe(2);
    expect(row.q10_ms).toBeCloseTo(quantile([2, 4, 6, 8, 10], 0.1), 12);
    expect(row.q90_ms).toBeCloseTo(2 + 0.9 * 4 * 2, 12);
    expect(String(table.schema.fields.find((f) => f.name === 'stride')!.type)).toBe('Int32');
    expect(table.getChild('preprocess')!.toArray().filter(Boolean)).toHaveLength(2);
  });

  test('quantile interpolates between order statistics', () => {
    expect(quantile([10, 0, 20], 0.25)).toBe(5);
    expect(quantile([7], 0.9)).toBe(7);
  });
});
