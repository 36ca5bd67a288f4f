import * as tf from '@tensorflow/tfjs';
import { batchNormEval, batchNormTrain } from '@lenna/compute';
import { conv2d, depthwiseConv2d } from './conv.js';
import type { ParamBuilder } from './params.js';

export interface ForwardContext {
  /** Training: BatchNorm uses (and records) batch statistics; evaluation: running statistics. */
  training: boolean;
  /** ReLU outputs already computed in this forward pass, so ops reading one state share one ReLU. */
  relus?: Map<tf.Tensor, tf.Tensor4D>;
  /** False when a pass is recomputed for its gradient: BatchNorm must not count the batch twice. */
  updateStats?: boolean;
}

/**
 * A layer in functional style: its variables live in the ParamStore, it only knows how to apply them.
 * `scale` (a scalar tensor) multiplies the output: a mixed op's weight, folded into a final BatchNorm
 * where there is one so that it costs no extra tensor on the tape.
 */
export interface Layer {
  apply(x: tf.Tensor4D, ctx: ForwardContext, scale?: tf.Tensor): tf.Tensor4D;
  /** Multiply-accumulates per sample for an input of spatial size h×w, and the output size. */
  macs(h: number, w: number): { macs: number; h: number; w: number };
}

export function outSize(size: number, k: number, stride: number, pad: number, dilation = 1): number {
  return Math.floor((size + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

export interface ConvSpec {
  cin: number;
  cout: number;
  k: number;
  stride: number;
  pad: number;
  dilation?: number;
}

/** k×k convolution without bias, filter stored [k, k, cin, cout]. */
export function convLayer(pb: ParamBuilder, name: string, s: ConvSpec): Layer {
  const dilation = s.dilation ?? 1;
  const filter = pb.uniform(`${name}.weight`, [s.k, s.k, s.cin, s.cout], s.cin * s.k * s.k);
  return {
    apply: (x, _ctx, scale) => scaled(conv2d(x, filter as tf.Tensor4D, { stride: s.stride, dilation, pad: s.pad }), scale),
    macs: (h, w) => {
      const oh = outSize(h, s.k, s.stride, s.pad, dilation);
      const ow = outSize(w, s.k, s.stride, s.pad, dilation);
      return { macs: s.k * s.k * s.cin * s.cout * oh * ow, h: oh, w: ow };
    },
  };
}

/** Depthwise k×k convolution (one filter per channel), filter stored [k, k, c, 1]. */
export function depthwiseLayer(pb: ParamBuilder, name: string, s: Omit<ConvSpec, 'cout'>): Layer {
  const dilation = s.dilation ?? 1;
  const filter = pb.uniform(`${name}.weight`, [s.k, s.k, s.cin, 1], s.k * s.k);
  return {
    apply: (x, _ctx, scale) => scaled(depthwiseConv2d(x, filter as tf.Tensor4D, { stride: s.stride, dilation, pad: s.pad }), scale),
    macs: (h, w) => {
      const oh = outSize(h, s.k, s.stride, s.pad, dilation);
      const ow = outSize(w, s.k, s.stride, s.pad, dilation);
      return { macs: s.k * s.k * s.cin * oh * ow, h: oh, w: ow };
    },
  };
}

const BN_MOMENTUM = 0.1;

/**
 * BatchNorm over N, H, W as PyTorch's BatchNorm2d: training normalises with the biased batch
 * variance and moves the running variance towards the unbiased one (momentum 0.1, eps 1e-5);
 * affine adds a per-channel weight and bias.
 */
export function batchNormLayer(pb: ParamBuilder, name: string, c: number, affine: boolean): Layer {
  const weight = affine ? pb.constant(`${name}.weight`, [c], 1, true) : undefined;
  const bias = affine ? pb.constant(`${name}.bias`, [c], 0, true) : undefined;
  const runningMean = pb.constant(`${name}.running_mean`, [c], 0, false);
  const runningVar = pb.constant(`${name}.running_var`, [c], 1, false);
  return {
    apply: (x, ctx, scale) => {
      const g = weight && scale ? tf.mul(weight, scale) : (weight ?? scale);
      const b = bias && scale ? tf.mul(bias, scale) : bias;
      if (!ctx.training) return batchNormEval(x, runningMean, runningVar, g, b);
      return batchNormTrain(x, g, b, (mean, variance, n) => ctx.updateStats !== false && updateRunning(runningMean, runningVar, mean, variance, n));
    },
    macs: (h, w) => ({ macs: 0, h, w }),
  };
}

function updateRunning(rm: tf.Variable, rv: tf.Variable, mean: tf.Tensor, variance: tf.Tensor, n: number): void {
  const unbiased = n > 1 ? n / (n - 1) : 1;
  const [m, v] = tf.tidy(() => [
    tf.add(tf.mul(rm, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)),
    tf.add(tf.mul(rv, 1 - BN_MOMENTUM), tf.mul(variance, BN_MOMENTUM * unbiased)),
  ]);
  rm.assign(m);
  rv.assign(v);
  m.dispose();
  v.dispose();
}

/** Multiplies by the mixed-op weight where a layer has no BatchNorm to fold it into. */
export function scaled(y: tf.Tensor4D, scale?: tf.Tensor): tf.Tensor4D {
  return scale ? (tf.mul(y, scale) as tf.Tensor4D) : y;
}

/** ReLU of x, computed once per forward pass for each tensor (several ops read the same state). */
export function cachedRelu(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
  const hit = ctx.relus?.get(x);
  if (hit) return hit;
  const y = tf.relu(x);
  ctx.relus?.set(x, y);
  return y;
}

export const reluLayer: Layer = {
  apply: (x, ctx, scale) => scaled(cachedRelu(x, ctx), scale),
  macs: (h, w) => ({ macs: 0, h, w }),
};

/** Layers applied one after the other. */
export function sequence(layers: Layer[]): Layer {
  return {
    apply: (x, ctx, scale) => layers.reduce((y, l, i) => l.apply(y, ctx, i === layers.length - 1 ? scale : undefined), x),
    macs: (h, w) => {
      let total = 0;
      for (const l of layers) {
        const r = l.macs(h, w);
        total += r.macs;
        h = r.h;
        w = r.w;
      }
      return { macs: total, h, w };
    },
  };
}
