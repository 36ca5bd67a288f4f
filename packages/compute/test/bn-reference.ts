import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/index.js';

/** The batch-norm tests run on cpu unless they say otherwise, with LENNA's kernels registered. */
export async function useCpu(): Promise<void> {
  await initBackend({ backend: 'cpu', quiet: true });
}

export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The textbook BatchNorm formula in plain tfjs ops, differentiated by tfjs itself (on any backend). */
export function referenceBatchNorm(x: tf.Tensor4D, g?: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  let y: tf.Tensor = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
  if (g) y = tf.mul(y, g);
  if (b) y = tf.add(y, b);
  return y;
}
