import * as tf from '@tensorflow/tfjs';
import { makeFloatOutput } from './heap.js';
import { LoopHeap } from './loop-heap.js';

/**
 * tfjs-core differentiates ReLU as dy · step(x): two full-size passes and an intermediate tensor
 * (on wasm ~2.5 ms for a [32,32,32,16] activation, a tenth of a convolution's backward pass). This
 * kernel does it in one pass: a SIMD select on wasm's heap, a plain loop on cpu. Where x is NaN it
 * passes 0, not NaN; the forward ReLU has already made the loss NaN there.
 */
export const RELU_GRAD_KERNEL = 'LennaReluGrad';

export function reluGradKernel(backendName: string): tf.KernelFunc {
  return ({ inputs, backend }) => {
    const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
    const n = x.shape.reduce((a, b) => a * b, 1);
    if (backendName !== 'wasm') {
      return makeFloatOutput(backend as tf.KernelBackend, x.shape, [x, dy], (out, xv, dv) => {
        for (let t = 0; t < n; t++) out[t] = xv[t] > 0 ? dv[t] : 0;
      });
    }
    const heap = new LoopHeap(backend as tf.KernelBackend, [x, dy], [n], false);
    const [px, pdy] = heap.inputs, pdx = heap.scratch[0];
    heap.loops.reluGrad(pdx, px, pdy, n);
    const f = heap.f32();
    for (let t = n & ~3; t < n; t++) f[pdx / 4 + t] = f[px / 4 + t] > 0 ? f[pdy / 4 + t] : 0;
    return heap.output(0, x.shape);
  };
}

let registered = false;

/** Replaces tfjs-core's ReLU gradient: the fused kernel where the backend has it, dy · step(x) elsewhere. Idempotent. */
export function registerReluGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      const fused = x.dtype === 'float32' && tf.getKernel(RELU_GRAD_KERNEL, tf.getBackend()) !== undefined;
      return {
        x: () => (fused ? (tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: dy as tf.Tensor, x }) as tf.Tensor) : tf.mul(dy as tf.Tensor, tf.cast(tf.step(x), 'float32'))),
      };
    },
  });
}
