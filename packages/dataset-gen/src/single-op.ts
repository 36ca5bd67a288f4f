import * as tf from '@tensorflow/tfjs';
import { createRng } from '@lenna/core';
import { conv2d } from '@lenna/compute';
import { createOp, createParamStore, disposeStore, ParamBuilder, type Layer, type OpName } from '@lenna/nn';
import { PREPROCESS_FACTORIZED_REDUCE, PREPROCESS_RELU_CONV_BN } from './ops.js';
import type { OpSite } from './shapes.js';

/** One op alone, ready to time: `run` applies it to a fixed random input of the site's shape. */
export interface SiteRunnable {
  run: () => tf.Tensor;
  dispose: () => void;
}

/** The op of a lookup-table site, built with nn's constructors (search-style BN, inference mode). */
export function createSiteRunnable(site: OpSite, seed: number): SiteRunnable {
  const store = createParamStore();
  const params = new ParamBuilder(store, createRng(seed));
  const layer = siteLayer(params, site);
  const rng = createRng(seed + 1);
  const shape: [number, number, number, number] = [site.batch, site.hw, site.hw, site.cIn];
  const x = tf.tensor4d(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
  return {
    run: () => {
      const y = layer.apply(x, { training: false });
      // Identity (skip_connect at stride 1) returns its input, which the timer would dispose after a run.
      return y === x ? tf.clone(x) : y;
    },
    dispose: () => {
      x.dispose();
      disposeStore(store);
    },
  };
}

function siteLayer(params: ParamBuilder, site: OpSite): Layer {
  switch (site.op) {
    case PREPROCESS_RELU_CONV_BN:
      return reluConvBn(params, site.cIn, site.c);
    case PREPROCESS_FACTORIZED_REDUCE:
      return factorizedReduce(params, site.cIn, site.c);
    default:
      return createOp(params, site.op as OpName, { c: site.c, stride: site.stride, affine: false, poolBatchNorm: true });
  }
}

// nn does not export its preprocessing layers; these follow the official DARTS code as nn does:
// ReLU, 1×1 conv (no bias), non-affine BatchNorm on running statistics at inference.
function reluConvBn(params: ParamBuilder, cIn: number, c: number): Layer {
  const filter = params.uniform('conv.weight', [1, 1, cIn, c], cIn) as tf.Tensor4D;
  const bn = inferenceBatchNorm(params, c);
  return {
    apply: (x) => bn(conv2d(tf.relu(x), filter, { stride: 1, pad: 0 })),
    macs: (h, w) => ({ macs: cIn * c * h * w, h, w }),
  };
}

// ReLU, two 1×1 stride-2 convs (the second on the input shifted by a pixel), concatenated, BatchNorm.
function factorizedReduce(params: ParamBuilder, cIn: number, c: number): Layer {
  const f1 = params.uniform('conv1.weight', [1, 1, cIn, c / 2], cIn) as tf.Tensor4D;
  const f2 = params.uniform('conv2.weight', [1, 1, cIn, c / 2], cIn) as tf.Tensor4D;
  const bn = inferenceBatchNorm(params, c);
  return {
    apply: (x) => {
      const r = tf.relu(x);
      const [n, h, w, ch] = r.shape;
      const shifted = tf.slice(r, [0, 1, 1, 0], [n, h - 1, w - 1, ch]);
      return bn(tf.concat([conv2d(r, f1, { stride: 2, pad: 0 }), conv2d(shifted, f2, { stride: 2, pad: 0 })], 3));
    },
    macs: (h, w) => ({ macs: (cIn * c * Math.ceil(h / 2) * Math.ceil(w / 2)), h: Math.ceil(h / 2), w: Math.ceil(w / 2) }),
  };
}

function inferenceBatchNorm(params: ParamBuilder, c: number): (x: tf.Tensor4D) => tf.Tensor4D {
  const mean = params.constant('bn.running_mean', [c], 0, false);
  const variance = params.constant('bn.running_var', [c], 1, false);
  return (x) => tf.batchNorm(x, mean, variance, undefined, undefined, 1e-5) as tf.Tensor4D;
}
