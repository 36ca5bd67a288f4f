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
