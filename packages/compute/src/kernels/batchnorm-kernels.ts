import * as tf from '@tensorflow/tfjs';
import { affine, affine2, gradientSums, shiftedMoments } from './channel-loops.js';
import { backwardCoefficients, forwardCoefficients, type BnKernelAttrs } from './bn-math.js';
import { backwardSimd, forwardSimd, wasmSimdApplies } from './bn-wasm.js';
import { HEAP_BACKENDS, withFloatOutputs } from './heap.js';

/**
 * Training-mode BatchNorm forward and backward as two fused kernels over an [M, C] view (M = N·H·W):
 * a handful of tfjs ops per pass costs about as much in per-op overhead and memory passes as the
 * arithmetic itself on wasm, and a supernet step runs thousands of BatchNorms. Plain loops over the
 * tensors' memory (cpu arrays, wasm heap), sums in float64.
 */
export const BN_FORWARD_KERNEL = 'LennaBatchNormTrainForward';
export const BN_BACKWARD_KERNEL = 'LennaBatchNormTrainBackward';
export type { BnKernelAttrs } from './bn-math.js';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };

/**
 * Inputs x (rank ≥ 2, channels last), g?, b?; outputs y (x's shape), mean, biased variance, rstd ([C]).
 * Sums are shifted by each channel's first value, so E[(x−K)²] − E[x−K]² stays accurate in one pass.
 */
function forwardKernel(args: KernelArgs): tf.TensorInfo[] {
  const { inputs, backend } = args;
  const a = args.attrs as unknown as BnKernelAttrs;
  const x = inputs.x as tf.TensorInfo;
  const c = x.shape[x.shape.length - 1];
  const m = tf.util.sizeFromShape(x.shape) / c;
  if (wasmSimdApplies(backend, c)) return forwardSimd(backend, a, x, inputs.g, inputs.b);
  const extra = [inputs.g, inputs.b].filter((t): t is tf.TensorInfo => t !== undefined);
  return withFloatOutputs(backend, [x.shape, [c], [c], [c]], [x, ...extra], ([y, mean, variance, rstd], [xv, ...rest]) => {
    const gv = a.gKind !== 'none' ? rest[0] : undefined;
    const bv = a.hasBias ? rest[a.gKind !== 'none' ? 1 : 0] : undefined;
    const shift = xv.slice(0, c);
    const { s1, s2 } = shiftedMoments(xv, c, shift);
    const r = forwardCoefficients(a, m, s1, s2, shift, gv, bv);
    mean.set(r.mean);
    variance.set(r.variance);
    rstd.set(r.rstd);
    affine(y, xv, c, r.scale, r.offset);
  });
}

/** Inputs dy, x, mean, rstd, g?; outputs dx, Σ dy·x̂ and Σ dy per channel: one pass for the sums, one for dx. */
function backwardKernel(args: KernelArgs): tf.TensorInfo[] {
  const { inputs, backend } = args;
  const a = args.attrs as unknown as BnKernelAttrs;
  const { dy, x, mean, rstd } = inputs as Record<string, tf.TensorInfo>;
  const c = x.shape[x.shape.length - 1];
  const m = tf.util.sizeFromShape(x.shape) / c;
  if (wasmSimdApplies(backend, c)) return backwardSimd(backend, a, dy, x, mean, rstd, inputs.g);
  const ins = [dy, x, mean, rstd, ...(inputs.g ? [inputs.g] : [])];
  return withFloatOutputs(backend, [x.shape, [c], [c]], ins, ([dx, dyXhatSum, dySum], [dyv, xv, meanv, rstdv, gv]) => {
    const sums = gradientSums(dyv, xv, c, meanv);
    const r = backwardCoefficients(a, m, sums.dySum, sums.dyXcSum, meanv, rstdv, gv);
    dyXhatSum.set(r.dyXhatSum);
    dySum.set(sums.dySum);
    affine2(dx, dyv, xv, c, r.k, r.slope, r.offset);
  });
}

/** Registers both kernels on cpu and wasm (once); other backends use the plain-op formula. */
export function registerBatchNormKernels(): void {
  for (const backendName of HEAP_BACKENDS) {
    if (!tf.getKernel(BN_FORWARD_KERNEL, backendName)) {
      tf.registerKernel({ kernelName: BN_FORWARD_KERNEL, backendName, kernelFunc: forwardKernel as unknown as tf.KernelFunc });
    }
    if (!tf.getKernel(BN_BACKWARD_KERNEL, backendName)) {
      tf.registerKernel({ kernelName: BN_BACKWARD_KERNEL, backendName, kernelFunc: backwardKernel as unknown as tf.KernelFunc });
    }
  }
}

/** Whether the active backend runs the fused kernels. */
export function hasFusedBatchNorm(): boolean {
  return (HEAP_BACKENDS as readonly string[]).includes(tf.getBackend());
}
