import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/index.js';

/**
 * Both backends the kernels are registered for, wasm active; tests switch with tf.setBackend.
 * (Not IS_TEST: its leak check miscounts tf.customGrad's saved copies on wasm as leaks.)
 */
export async function initBoth(): Promise<void> {
  await initBackend({ backend: 'wasm', quiet: true });
}

export const BACKENDS = ['cpu', 'wasm'] as const;

/** Data buffers the active backend holds: a kernel that forgets an intermediate makes this grow. */
export function backendBuffers(): number {
  return tf.backend().numDataIds();
}

/**
 * The cpu backend's kernels (LENNA's included) under another name, which LENNA does not serve: the
 * ops take the portable forms they take on TensorFlow's native backends, over kernels whose numerics
 * the other tests hold against references.
 */
export function registerPortableCpu(): string {
  const name = 'portable-cpu';
  if (tf.findBackendFactory(name)) return name;
  const factory = tf.findBackendFactory('cpu');
  if (!factory) throw new Error('no cpu backend');
  tf.registerBackend(name, factory);
  for (const kernel of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...kernel, backendName: name });
  return name;
}
