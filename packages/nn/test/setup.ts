import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@lenna/compute';

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
