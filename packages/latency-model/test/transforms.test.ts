import { describe, expect, it } from 'vitest';
import { UserError } from '@lenna/core';
import type { CellRow } from '../src/cell.js';
import { applyTransforms, fitTransforms, msToTarget, parseTransforms, targetToMs } from '../src/transforms.js';

const ops = ['none', 'sep_conv_3x3'];
function row(overrides: Partial<CellRow>): CellRow {
  return { reduction: false, reductionPrev: false, cPrevPrev: 8, cPrev: 8, c: 8, hw: 16, batch: 2, kind: 'search', probs: [0.5, 0.5], latencyMs: 1, additiveMs: 1, ...overrides };
}

describe('fitTransforms / applyTransforms', () => {
  const train = [
    row({ reduction: false, c: 4, probs: [1, 0], latencyMs: Math.E, additiveMs: 1 }),
    row({ reduction: true, reductionPrev: true, kind: 'eval', c: 16, probs: [0.25, 0.75], latencyMs: Math.E ** 3, additiveMs: Math.E }),
  ];

  it('one-hots the block type, flags eval cells and standardises log shapes and the additive estimate with train statistics (hand-computed)', () => {
    const t = fitTransforms(train, { ops });
    // ln 4 and ln 16 = 2 ln 4: mean 1.5 ln 4, population std 0.5 ln 4.
    expect(t.numeric.c.mean).toBeCloseTo(1.5 * Math.log(4), 12);
    expect(t.numeric.c.std).toBeCloseTo(0.5 * Math.log(4), 12);
    // c_in (cPrev) is constant on train: std falls back to 1 so the feature is 0 rather than NaN.
    expect(t.numeric.c_in).toEqual({ mean: Math.log(8), std: 1 });
    expect(t.target).toEqual({ mean: 2, std: 1 });
    // ln additive: 0 and 1 (mean 0.5, std 0.5); ln(latency / additive): 1 and 2 (mean 1.5, std 0.5).
    expect(t.additive).toEqual({ mean: 0.5, std: 0.5 });
    expect(t.residual).toEqual({ mean: 1.5, std: 0.5 });
    expect(t.featureOrder).toEqual([
      'block_normal', 'block_reduction', 'reduction_prev', 'cell_eval',
      'log_c_prev_prev', 'log_c_in', 'log_c', 'log_hw', 'log_batch', 'log_additive',
      'p_e0_none', 'p_e0_sep_conv_3x3',
    ]);
    const x = applyTransforms(t, train);
    expect(Array.from(x.subarray(0, 12))).toEqual([1, 0, 0, 0, 0, 0, -1, 0, 0, -1, 1, 0]);
    expect(Array.from(x.subarray(12, 24))).toEqual([0, 1, 1, 1, 0, 0, 1, 0, 0, 1, 0.25, 0.75]);
  });

  it('standardises probabilities per column when asked', () => {
    const t = fitTransforms(train, { ops, probs: 'standardise' });
    expect(t.probs).toEqual({ mode: 'standardise', mean: [0.625, 0.375], std: [0.375, 0.375] });
    const x = applyTransforms(t, [row({ probs: [0.625 + 0.375 * 2, 0] })]);
    expect(x[10]).toBeCloseTo(2, 6);
    expect(x[11]).toBeCloseTo(-1, 6);
  });

  it('maps ms to the target and back', () => {
    const t = fitTransforms(train, { ops });
    expect(msToTarget(t, Math.E ** 3)).toBeCloseTo(1, 12);
    for (const ms of [0.01, 1, 37.5]) expect(targetToMs(t, msToTarget(t, ms))).toBeCloseTo(ms, 9);
  });

  it('round-trips through JSON and rejects a malformed file', () => {
    const t = fitTransforms(train, { ops, probs: 'standardise' });
    expect(parseTransforms(JSON.parse(JSON.stringify(t)), 'transforms.json')).toEqual(t);
    expect(() => parseTransforms({ ...t, target: { mean: 0, std: 0 } }, 'transforms.json')).toThrow(UserError);
    expect(() => parseTransforms({ ...t, edges: 2 }, 'transforms.json')).toThrow(/probs.mean/);
    expect(() => parseTransforms({ ...t, version: 1 }, 'transforms.json')).toThrow(/version 1 .*re-run preprocess/);
  });
});
