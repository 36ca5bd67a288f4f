import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNormTrain, batchNormTrainOps } from '../src/batchnorm.js';
import { hasFusedBatchNorm } from '../src/kernels/batchnorm-kernels.js';
import { maxAbsDiff, referenceBatchNorm } from './reference.js';
import { initBackend } from '../src/index.js';

beforeAll(() => initBackend({ backend: 'cpu', quiet: true }));

describe('training-mode BatchNorm custom gradient', () => {
  const x = tf.add(tf.mul(tf.randomNormal([3, 4, 4, 5], 0, 1, 'float32', 1), 2), 0.7) as tf.Tensor4D;
  const upstream = tf.randomNormal([3, 4, 4, 5], 0, 1, 'float32', 2);
  const cases: [string, tf.Tensor | undefined, tf.Tensor | undefined][] = [
    ['no affine', undefined, undefined],
    ['scalar mixed-op weight', tf.scalar(0.3), undefined],
    ['per-channel weight and bias', tf.tensor1d([0.5, 1, 1.5, -1, 2]), tf.tensor1d([0.1, 0, -0.2, 0.3, 1])],
  ];
  const impls = [
    ['fused kernels', batchNormTrain],
    ['plain ops', batchNormTrainOps],
  ] as const;
  it('runs the fused kernels on cpu', () => expect(hasFusedBatchNorm()).toBe(true));
  for (const [impl, bn] of impls) {
    for (const [name, g, b] of cases) {
      it(`${impl} match tfjs autodiff of the plain formula: ${name}`, () => {
        const inputs = [x, ...(g ? [g] : []), ...(b ? [b] : [])];
        const ours = tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(bn(t[0] as tf.Tensor4D, g && t[1], b && t[g ? 2 : 1], () => undefined), upstream)));
        const ref = tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(referenceBatchNorm(t[0] as tf.Tensor4D, g && t[1], b && t[g ? 2 : 1]), upstream)));
        const [go, gr] = [ours(inputs), ref(inputs)];
        expect(maxAbsDiff(bn(x, g, b, () => undefined).dataSync(), referenceBatchNorm(x, g, b).dataSync())).toBeLessThan(1e-4);
        go.forEach((t, i) => expect(maxAbsDiff(t.dataSync(), gr[i].dataSync()), `input ${i}`).toBeLessThan(1e-4));
      });
    }
  }

  it('fused kernels handle a pixel count that is not a multiple of the 4-way unrolling (27 pixels)', () => {
    const odd = tf.randomNormal([1, 3, 9, 5], 0.5, 2, 'float32', 5) as tf.Tensor4D;
    const up = tf.randomNormal(odd.shape, 0, 1, 'float32', 6);
    const g = tf.tensor1d([0.5, 1, 1.5, -1, 2]);
    const b = tf.tensor1d([0.1, 0, -0.2, 0.3, 1]);
    const ours = tf.grads((t: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(batchNormTrain(t as tf.Tensor4D, gg, bb, () => undefined), up)));
    const ref = tf.grads((t: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(referenceBatchNorm(t as tf.Tensor4D, gg, bb), up)));
    const [go, gr] = [ours([odd, g, b]), ref([odd, g, b])];
    expect(maxAbsDiff(batchNormTrain(odd, g, b, () => undefined).dataSync(), referenceBatchNorm(odd, g, b).dataSync())).toBeLessThan(1e-4);
    go.forEach((t, i) => expect(maxAbsDiff(t.dataSync(), gr[i].dataSync()), `input ${i}`).toBeLessThan(1e-4));
  });

  it('keeps the variance accurate for a large mean (one-pass sums are shifted)', () => {
    const far = tf.add(x, 1000) as tf.Tensor4D;
    let seen: ArrayLike<number> = [];
    const y = batchNormTrain(far, undefined, undefined, (_m, variance) => {
      seen = variance.dataSync();
    });
    expect(maxAbsDiff(seen, tf.moments(x, [0, 1, 2]).variance.dataSync())).toBeLessThan(1e-3);
    expect(maxAbsDiff(y.dataSync(), referenceBatchNorm(x).dataSync())).toBeLessThan(1e-3);
  });

  it('reports the batch mean and biased variance for the running statistics', () => {
    let seen: ArrayLike<number>[] = [];
    batchNormTrain(x, undefined, undefined, (mean, variance, n) => {
      seen = [mean.dataSync(), variance.dataSync(), [n]];
    });
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    expect(maxAbsDiff(seen[0], mean.dataSync())).toBeLessThan(1e-5);
    expect(maxAbsDiff(seen[1], variance.dataSync())).toBeLessThan(1e-4);
    expect(seen[2]).toEqual([48]);
  });
});
