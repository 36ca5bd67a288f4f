import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { flattenProbs } from '../src/cell.js';
import { readCellRows } from '../src/columns.js';
import { syntheticDatasetTable } from '../src/synthetic.js';
import { applyTransforms, fitTransforms, msToTarget, targetToMs } from '../src/transforms.js';
import { targetToMsTf, transformFeaturesTf } from '../src/transforms-tf.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('transformFeaturesTf agrees with applyTransforms', () => {
  const { rows, ops } = readCellRows(syntheticDatasetTable({ rowsPerShape: 5, seed: 7 }), 'synthetic');

  for (const mode of ['raw', 'standardise'] as const) {
    it(`on every row (probs ${mode})`, () => {
      const t = fitTransforms(rows.slice(0, 12), { ops, probs: mode });
      const expected = applyTransforms(t, rows);
      const n = t.featureOrder.length;
      rows.forEach((row, i) => {
        const probs = tf.tensor2d(row.probs as Float32Array, [t.edges, ops.length]);
        const got = transformFeaturesTf(t, row, probs, tf.scalar(row.additiveMs));
        expect(got.shape).toEqual([1, n]);
        const values = got.dataSync();
        for (let j = 0; j < n; j++) expect(values[j]).toBeCloseTo(expected[i * n + j], 4);
        tf.dispose([probs, got]);
      });
    });
  }

  it('is differentiable in probs: d(sum features)/dp = 1/std, and in the additive estimate: 1/(ms·std)', () => {
    const t = fitTransforms(rows.slice(0, 12), { ops, probs: 'standardise' });
    const probs = tf.tensor2d(rows[0].probs as Float32Array, [t.edges, ops.length]);
    const additive = tf.scalar(rows[0].additiveMs);
    const [dp, da] = tf.grads((p: tf.Tensor, a: tf.Tensor) => tf.sum(transformFeaturesTf(t, rows[0], p as tf.Tensor2D, a as tf.Scalar)))([probs, additive]);
    const g = dp.dataSync();
    if (t.probs.mode !== 'standardise') throw new Error('expected standardised probs');
    t.probs.std.forEach((s, j) => expect(g[j]).toBeCloseTo(1 / s, 3));
    expect(da.dataSync()[0] * rows[0].additiveMs * t.additive.std).toBeCloseTo(1, 4);
  });

  it('converts the target to ms like the TS function, for a latency and a residual model', () => {
    const t = fitTransforms(rows, { ops });
    const back = targetToMsTf(t, tf.tensor1d([-1, 0, 2])).dataSync();
    [-1, 0, 2].forEach((y, i) => expect(back[i] / targetToMs(t, y)).toBeCloseTo(1, 5));
    const residual = targetToMsTf(t, tf.tensor1d([-1, 0, 2]), 'additive', tf.scalar(3.5)).dataSync();
    [-1, 0, 2].forEach((y, i) => expect(residual[i] / targetToMs(t, y, 'additive', 3.5)).toBeCloseTo(1, 5));
    [0.02, 0.5, 3].forEach((ms) => expect(targetToMs(t, msToTarget(t, ms, 'additive', 0.7), 'additive', 0.7)).toBeCloseTo(ms, 9));
  });

  it('refuses a probability matrix of the wrong size', () => {
    const t = fitTransforms(rows, { ops });
    expect(() => transformFeaturesTf(t, rows[0], tf.zeros([3, ops.length]) as tf.Tensor2D, tf.scalar(1))).toThrow(/\[14, 8\]/);
    expect(() => flattenProbs([[1, 0]], 14, 8)).toThrow(/14 x 8/);
  });
});
