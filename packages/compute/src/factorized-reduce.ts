import * as tf from '@tensorflow/tfjs';
import { conv2d } from './conv.js';
import { FACTORIZED_REDUCE_GRAD } from './kernels/factorized-reduce-grad.js';
import { registerLennaKernels } from './kernels/register.js';

/**
 * DARTS's FactorizedReduce convolutions: [x ⊛ w1, x[1:, 1:] ⊛ w2], both 1×1 at stride 2 (w1, w2 of shape
 * [1, 1, Ci, H]), concatenated on channels. It runs as one 2×2 stride-2 convolution whose filter holds
 * w1 at tap (0,0) for the first H outputs and w2 at tap (1,1) for the rest: one pass of the backend's
 * convolution, no slice or concat of activations (slow on wasm). On wasm and cpu its gradient
 * computes only those two taps (factorized-reduce-grad.ts); elsewhere, and where H is not a multiple
 * of 4, tfjs differentiates the same ops.
 */
export function factorizedReduce(x: tf.Tensor4D, w1: tf.Tensor4D, w2: tf.Tensor4D): tf.Tensor4D {
  registerLennaKernels();
  const convolve = (input: tf.Tensor4D, a: tf.Tensor4D, b: tf.Tensor4D) => conv2d(input, tapFilter(a, b), { stride: 2, pad: 0 });
  if (w1.shape[3] % 4 !== 0 || !tf.getKernel(FACTORIZED_REDUCE_GRAD, tf.getBackend())) return convolve(x, w1, w2);
  const op = tf.customGrad((...args: unknown[]) => {
    const [input, a, b, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([input, a, b]);
    return {
      value: convolve(input, a, b),
      gradFunc: (dy: tf.Tensor, [xs, ws1, ws2]: tf.Tensor[]) =>
        tf.engine().runKernel(FACTORIZED_REDUCE_GRAD, { x: xs, dy, w1: ws1, w2: ws2 }) as tf.Tensor[],
    };
  });
  return op(x, w1, w2) as tf.Tensor4D;
}

/** The 2×2 filter [w1 at (0,0) | w2 at (1,1)] over the concatenated outputs. */
function tapFilter(w1: tf.Tensor4D, w2: tf.Tensor4D): tf.Tensor4D {
  return tf.concat(
    [tf.pad(w1, [[0, 1], [0, 1], [0, 0], [0, 0]]), tf.pad(w2, [[1, 0], [1, 0], [0, 0], [0, 0]])],
    3,
  ) as tf.Tensor4D;
}
