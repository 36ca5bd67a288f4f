import * as tf from '@tensorflow/tfjs';
import { filterGradSimd } from './filter-grad-simd.js';
import { KernelGraph } from './graph.js';
import { withFloatOutputs } from './heap.js';

type Shape4 = [number, number, number, number];

/**
 * The gradient of `factorizedReduce` (x ⊛ w1 and x[1:, 1:] ⊛ w2, 1×1 at stride 2, run as one 2×2
 * stride-2 convolution): inputs x, dy, w1, w2 ([1,1,Ci,H] each); outputs dx, dw1, dw2. It computes only
 * the two taps that hold weights, half the work of the 2×2 convolution's own gradients:
 * - dw1 is tap (0,0) for outputs [0, H), dw2 tap (1,1) for outputs [H, 2H), as SIMD filter-gradient tiles;
 * - dx: dy · [w1ᵀ 0; 0 w2ᵀ] gives each output pixel's two input blocks, which go to pixels (2i, 2j) and
 *   (2i+1, 2j+1); every other pixel's gradient is zero.
 * Needs H a multiple of 4 (whole SIMD vectors).
 */
export const FACTORIZED_REDUCE_GRAD = 'LennaFactorizedReduceGrad';

export function factorizedReduceGradKernel(backendName: string): tf.KernelFunc {
  return ({ inputs, backend }) => {
    const { x, dy, w1, w2 } = inputs as Record<string, tf.TensorInfo>;
    const b = backend as tf.KernelBackend;
    const [, , ci, half] = w1.shape;
    const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, [2, 2, ci, 2 * half], 2, 1, 'valid');
    const dW = filterGradSimd(info, false, b, x, dy, [
      { tap: 0, co0: 0, co1: half },
      { tap: 3, co0: half, co1: 2 * half },
    ]);
    const [dw1, dw2] = withFloatOutputs(b, [w1.shape, w2.shape], [dW], ([o1, o2], [v]) => {
      const lastTap = 3 * ci * 2 * half;
      for (let c = 0; c < ci; c++)
        for (let o = 0; o < half; o++) {
          o1[c * half + o] = v[c * 2 * half + o];
          o2[c * half + o] = v[lastTap + c * 2 * half + half + o];
        }
    });
    b.disposeData(dW.dataId);
    const g = new KernelGraph(b, backendName);
    const blocks = g.constant([1, 1, 2 * half, 2 * ci], (f, v1, v2) => {
      for (let o = 0; o < half; o++)
        for (let c = 0; c < ci; c++) {
          f[o * 2 * ci + c] = v1[c * half + o];
          f[(half + o) * 2 * ci + ci + c] = v2[c * half + o];
        }
    }, [w1, w2]);
    const low = g.run('Conv2D', { x: dy, filter: blocks }, { strides: 1, dilations: 1, pad: 'valid', dataFormat: 'NHWC' });
    const dx = g.finish(g.depthToSpace(low, 2, info.inHeight, info.inWidth, [[0, 0], [1, 1]]));
    return [dx, dw1, dw2];
  };
}
