import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNormTrain } from '../src/batchnorm.js';
import { maxAbsDiff, referenceBatchNorm } from './reference.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
});

// 8 channels take the SIMD loops (whole 4-lane groups), 6 the JS loops on the wasm heap; 8 channels
// over 1,200 rows span three of the SIMD loops' 512-row blocks, whose sums add up across blocks.
describe('fused BatchNorm kernels on the wasm backend', () => {
  for (const shape of [[2, 5, 3, 8], [2, 5, 3, 6], [3, 20, 20, 8]]) {
    const c = shape[3];
    const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 1), 2), 0.7) as tf.Tensor4D;
    const up = tf.randomNormal(x.shape, 0, 1, 'float32', 2);
    const cases: [string, tf.Tensor | undefined, tf.Tensor | undefined][] = [
      ['no affine', undefined, undefined],
      ['scalar weight', tf.scalar(0.3), undefined],
      ['per-channel weight and bias', tf.randomNormal([c], 1, 0.5, 'float32', 3), tf.randomNormal([c], 0, 0.5, 'float32', 4)],
    ];
    for (const [name, g, b] of cases) {
      it(`${shape.join('×')}, ${name}: value, statistics and gradients match tfjs autodiff of the formula`, () => {
        expect(tf.getBackend()).toBe('wasm');
        const inputs = [x, ...(g ? [g] : []), ...(b ? [b] : [])];
        const pick = (t: tf.Tensor[]) => [t[0] as tf.Tensor4D, g && t[1], b && t[g ? 2 : 1]] as const;
        const ours = tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(batchNormTrain(...pick(t), () => undefined), up)));
        const ref = tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(referenceBatchNorm(...pick(t)), up)));
        let stats: ArrayLike<number>[] = [];
        const y = batchNormTrain(x, g, b, (mean, variance) => {
          stats = [mean.dataSync(), variance.dataSync()];
        });
        const moments = tf.moments(x, [0, 1, 2]);
        expect(maxAbsDiff(y.dataSync(), referenceBatchNorm(x, g, b).dataSync())).toBeLessThan(1e-4);
        expect(maxAbsDiff(stats[0], moments.mean.dataSync())).toBeLessThan(1e-5);
        expect(maxAbsDiff(stats[1], moments.variance.dataSync())).toBeLessThan(1e-4);
        const [go, gr] = [ours(inputs), ref(inputs)];
        go.forEach((t, i) => expect(maxAbsDiff(t.dataSync(), gr[i].dataSync()), `input ${i}`).toBeLessThan(1e-4));
      });
    }
  }
});
