import * as tf from '@tensorflow/tfjs';
import { BN_BACKWARD_KERNEL, BN_FORWARD_KERNEL, hasFusedBatchNorm, registerBatchNormKernels, type BnKernelAttrs } from './kernels/batchnorm-kernels.js';

export const BN_EPS = 1e-5;

export interface BatchStatsSink {
  (mean: tf.Tensor1D, variance: tf.Tensor1D, count: number): void;
}

/**
 * Training-mode BatchNorm over N, H, W as one differentiable op: y = (x − μ)/sqrt(σ² + eps)·g + b,
 * with g a per-channel weight, a scalar (a mixed-op weight folded in) or absent, b per-channel or
 * absent. Written as a custom gradient so the tape keeps only y instead of every intermediate
 * (memory is what limits a supernet step). On cpu and wasm the forward and backward passes are one
 * fused kernel each (batchnorm-kernels.ts); elsewhere they are plain tfjs ops.
 */
export function batchNormTrain(x: tf.Tensor4D, g: tf.Tensor | undefined, b: tf.Tensor | undefined, onStats: BatchStatsSink): tf.Tensor4D {
  if (!hasFusedBatchNorm()) return batchNormTrainOps(x, g, b, onStats);
  registerBatchNormKernels();
  const [n, h, w] = x.shape;
  const attrs: BnKernelAttrs = { eps: BN_EPS, gKind: !g ? 'none' : g.rank === 0 ? 'scalar' : 'channel', hasBias: b !== undefined };
  const inputs: tf.Tensor[] = [x, ...(g ? [g] : []), ...(b ? [b] : [])];
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const named: tf.NamedTensorMap = { x, ...(g ? { g } : {}), ...(b ? { b } : {}) };
    const [y, mean, variance, rstd] = tf.engine().runKernel(BN_FORWARD_KERNEL, named, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    onStats(mean as tf.Tensor1D, variance as tf.Tensor1D, n * h * w);
    save(g ? [x, mean, rstd, g] : [x, mean, rstd]);
    return {
      value: y as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ms, rs, gs] = saved;
        const ins: tf.NamedTensorMap = { dy, x: xs, mean: ms, rstd: rs, ...(gs ? { g: gs } : {}) };
        const [dx, dyXhatSum, dySum] = tf.engine().runKernel(BN_BACKWARD_KERNEL, ins, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        const grads: tf.Tensor[] = [dx];
        if (gs) grads.push(gs.rank === 0 ? tf.sum(dyXhatSum) : dyXhatSum);
        if (b) grads.push(dySum);
        return grads;
      },
    };
  });
  return op(...inputs) as tf.Tensor4D;
}

/**
 * The same op in plain tfjs ops (backends without the fused kernels, and a reference in tests).
 * Channel sums reduce axis 0 of an [N·H·W, C] view (compute registers a fast kernel for it).
 */
export function batchNormTrainOps(x: tf.Tensor4D, g: tf.Tensor | undefined, b: tf.Tensor | undefined, onStats: BatchStatsSink): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const m = n * h * w;
  const inputs: tf.Tensor[] = [x, ...(g ? [g] : []), ...(b ? [b] : [])];
  const channelSum = (t: tf.Tensor2D) => tf.sum(t, 0, true);
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const x2 = tf.reshape(x, [m, c]) as tf.Tensor2D;
    const mean = tf.div(channelSum(x2), m);
    const d = tf.sub(x2, mean);
    const variance = tf.div(channelSum(tf.square(d) as tf.Tensor2D), m);
    const rstd = tf.rsqrt(tf.add(variance, BN_EPS));
    onStats(tf.reshape(mean, [c]), tf.reshape(variance, [c]), m);
    let y: tf.Tensor = tf.mul(d, g ? tf.mul(rstd, g) : rstd);
    if (b) y = tf.add(y, b);
    // Only tensors given to save() outlive the caller's tidy until the backward pass.
    save(g ? [x, mean, rstd, g] : [x, mean, rstd]);
    return {
      value: tf.reshape(y, x.shape) as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => backward(dy, saved, { hasBias: b !== undefined, m, c }),
    };
  });
  return op(...inputs) as tf.Tensor4D;
}

/**
 * dx = k·(dy − mean(dy) − x̂·mean(dy·x̂)) with k = rstd·g, x̂ = (x − μ)·rstd, rearranged into
 * dx = k·dy + A·x + B with per-channel A, B, so the full-size work is dy·x and four passes.
 */
function backward(dy: tf.Tensor, saved: tf.Tensor[], s: { hasBias: boolean; m: number; c: number }): tf.Tensor[] {
  const [x, mean, rstd, g] = saved;
  const { m, c } = s;
  const dy2 = tf.reshape(dy, [m, c]) as tf.Tensor2D;
  const x2 = tf.reshape(x, [m, c]) as tf.Tensor2D;
  const dySum = tf.sum(dy2, 0, true);
  const dyxSum = tf.sum(tf.mul(dy2, x2), 0, true);
  // Σ dy·x̂ per channel, and the two means of the formula.
  const dyXhatSum = tf.mul(rstd, tf.sub(dyxSum, tf.mul(mean, dySum)));
  const m1 = tf.div(dySum, m);
  const m2 = tf.div(dyXhatSum, m);
  const k = g ? tf.mul(rstd, g) : rstd;
  const a = tf.neg(tf.mul(tf.mul(k, rstd), m2));
  const b = tf.mul(k, tf.sub(tf.mul(tf.mul(mean, rstd), m2), m1));
  const dx = tf.reshape(tf.add(tf.add(tf.mul(dy2, k), tf.mul(x2, a)), b), x.shape);
  const grads: tf.Tensor[] = [dx];
  if (g) grads.push(g.rank === 0 ? tf.sum(dyXhatSum) : tf.reshape(dyXhatSum, [c]));
  if (s.hasBias) grads.push(tf.reshape(dySum, [c]));
  return grads;
}

/** Evaluation-mode BatchNorm with running statistics (plain ops; tfjs differentiates them). */
export function batchNormEval(x: tf.Tensor4D, mean: tf.Tensor, variance: tf.Tensor, g?: tf.Tensor, b?: tf.Tensor): tf.Tensor4D {
  const rstd = tf.rsqrt(tf.add(variance, BN_EPS));
  const mult = g ? tf.mul(rstd, g) : rstd;
  const shift = tf.neg(tf.mul(mean, mult));
  return tf.add(tf.mul(x, mult), b ? tf.add(shift, b) : shift) as tf.Tensor4D;
}
