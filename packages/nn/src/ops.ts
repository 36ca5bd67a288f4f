import * as tf from '@tensorflow/tfjs';
import { avgPool2d, maxPool2d } from '@lenna/compute';
import { reducePair } from './conv.js';
import { batchNormLayer, cachedRelu, convLayer, depthwiseLayer, outSize, reluLayer, scaled, sequence, type Layer } from './layers.js';
import type { ParamBuilder } from './params.js';

/** The DARTS operations, in the official order (α's columns follow the op set's order). */
export const DARTS_OPS = [
  'none',
  'max_pool_3x3',
  'avg_pool_3x3',
  'skip_connect',
  'sep_conv_3x3',
  'sep_conv_5x5',
  'dil_conv_3x3',
  'dil_conv_5x5',
] as const;

export type OpName = (typeof DARTS_OPS)[number];

export function isOpName(name: string): name is OpName {
  return (DARTS_OPS as readonly string[]).includes(name);
}

export interface OpOptions {
  c: number;
  stride: number;
  /** Affine BatchNorm (evaluation network) or not (search). */
  affine: boolean;
  /** Search appends a non-affine BatchNorm to pools, as the official MixedOp does. */
  poolBatchNorm: boolean;
}

/** Builds one op; its variables are created under `pb` (e.g. `cells.0.edges.3.ops.sep_conv_3x3`). */
export function createOp(pb: ParamBuilder, name: OpName, o: OpOptions): Layer {
  switch (name) {
    case 'none':
      return zeroLayer(o.stride);
    case 'max_pool_3x3':
    case 'avg_pool_3x3': {
      const pool = poolLayer(name === 'max_pool_3x3' ? 'max' : 'avg', o.stride);
      return o.poolBatchNorm ? sequence([pool, batchNormLayer(pb, 'bn', o.c, false)]) : pool;
    }
    case 'skip_connect':
      return o.stride === 1 ? identityLayer : factorizedReduce(pb, o.c, o.c, o.affine);
    case 'sep_conv_3x3':
    case 'sep_conv_5x5':
      return sepConv(pb, o.c, o.c, name === 'sep_conv_3x3' ? 3 : 5, o.stride, o.affine);
    case 'dil_conv_3x3':
    case 'dil_conv_5x5': {
      const k = name === 'dil_conv_3x3' ? 3 : 5;
      return dilConv(pb, { cin: o.c, cout: o.c, k, stride: o.stride, dilation: 2, affine: o.affine });
    }
  }
}

export const identityLayer: Layer = { apply: (x, _ctx, scale) => scaled(x, scale), macs: (h, w) => ({ macs: 0, h, w }) };

/** `none`: zeros of the output shape (sub-sampled at stride 2, as the official Zero). */
export function zeroLayer(stride: number): Layer {
  return {
    apply: (x) => {
      const [n, h, w, c] = x.shape;
      return tf.zeros([n, Math.ceil(h / stride), Math.ceil(w / stride), c]);
    },
    macs: (h, w) => ({ macs: 0, h: Math.ceil(h / stride), w: Math.ceil(w / stride) }),
  };
}

/**
 * 3×3 pooling with one pixel of padding; the average counts only real pixels (count_include_pad=False).
 * compute's pools, so that every backend gets a form its kernels take.
 */
export function poolLayer(kind: 'max' | 'avg', stride: number): Layer {
  const pool = kind === 'max' ? maxPool2d : avgPool2d;
  return {
    apply: (x, _ctx, scale) => scaled(pool(x, { size: 3, stride, pad: 1 }), scale),
    macs: (h, w) => ({ macs: 0, h: outSize(h, 3, stride, 1), w: outSize(w, 3, stride, 1) }),
  };
}

/** ReLU, k×k conv, BatchNorm: the cell's input preprocessing when k = 1. */
export function reluConvBn(pb: ParamBuilder, cin: number, cout: number, affine: boolean): Layer {
  return sequence([
    reluLayer,
    convLayer(pb, 'conv', { cin, cout, k: 1, stride: 1, pad: 0 }),
    batchNormLayer(pb, 'bn', cout, affine),
  ]);
}

interface DilConvSpec {
  cin: number;
  cout: number;
  k: number;
  stride: number;
  dilation: number;
  affine: boolean;
}

/** ReLU, depthwise k×k (dilated), 1×1 conv, BatchNorm. Padding keeps the size at stride 1. */
export function dilConv(pb: ParamBuilder, s: DilConvSpec, suffix = ''): Layer {
  const pad = (s.dilation * (s.k - 1)) / 2;
  return sequence([
    reluLayer,
    depthwiseLayer(pb, `dw${suffix}`, { cin: s.cin, k: s.k, stride: s.stride, pad, dilation: s.dilation }),
    convLayer(pb, `pw${suffix}`, { cin: s.cin, cout: s.cout, k: 1, stride: 1, pad: 0 }),
    batchNormLayer(pb, `bn${suffix}`, s.cout, s.affine),
  ]);
}

/** Two undilated DilConv blocks, the second at stride 1 (names dw1 pw1 bn1 dw2 pw2 bn2). */
export function sepConv(pb: ParamBuilder, cin: number, cout: number, k: number, stride: number, affine: boolean): Layer {
  return sequence([
    dilConv(pb, { cin, cout: cin, k, stride, dilation: 1, affine }, '1'),
    dilConv(pb, { cin, cout, k, stride: 1, dilation: 1, affine }, '2'),
  ]);
}

/**
 * Halves the size: ReLU, two 1×1 stride-2 convs (the second on the input shifted by one pixel),
 * concatenated on channels, BatchNorm. Needs an even input size, as the official code does. The two
 * convs are compute's `factorizedReduce` (one 2×2 stride-2 convolution, a gradient over its two taps).
 */
export function factorizedReduce(pb: ParamBuilder, cin: number, cout: number, affine: boolean): Layer {
  if (cout % 2 !== 0) throw new Error(`FactorizedReduce needs an even channel count, got ${cout}.`);
  const w1 = pb.uniform('conv1.weight', [1, 1, cin, cout / 2], cin);
  const w2 = pb.uniform('conv2.weight', [1, 1, cin, cout / 2], cin);
  const bn = batchNormLayer(pb, 'bn', cout, affine);
  return {
    apply: (x, ctx, scale) => bn.apply(reducePair(cachedRelu(x, ctx), w1 as tf.Tensor4D, w2 as tf.Tensor4D), ctx, scale),
    macs: (h, w) => {
      // Counted as the two 1×1 convs it stands for.
      const oh = outSize(h, 1, 2, 0);
      const ow = outSize(w, 1, 2, 0);
      return { macs: cin * cout * oh * ow, h: oh, w: ow };
    },
  };
}
