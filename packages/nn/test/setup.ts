import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@lenna/compute';
import type { Genotype } from '../src/index.js';

/** Tests run on cpu: tfjs's reference kernels, with compute's gradients registered. */
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

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

// DARTS_V2 from the official genotypes.py.
export const DARTS_V2: Genotype = {
  normal: [
    ['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_3x3', 1],
    ['sep_conv_3x3', 1], ['skip_connect', 0], ['skip_connect', 0], ['dil_conv_3x3', 2],
  ],
  normal_concat: [2, 3, 4, 5],
  reduce: [
    ['max_pool_3x3', 0], ['max_pool_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 1],
    ['max_pool_3x3', 0], ['skip_connect', 2], ['skip_connect', 2], ['max_pool_3x3', 1],
  ],
  reduce_concat: [2, 3, 4, 5],
};
