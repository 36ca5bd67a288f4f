import * as tf from '@tensorflow/tfjs';
import { createRng, deriveSeed } from '@lenna/core';
import { createOp, createParamStore, disposeStore, factorizedReduce, ParamBuilder, reluConvBn, type Layer, type OpName } from '@lenna/nn';
import { PREPROCESS_FACTORIZED_REDUCE, PREPROCESS_RELU_CONV_BN } from './ops.js';
import type { OpSite } from './shapes.js';

/** One op alone, ready to time: `run` applies it to a fixed random input of the site's shape. */
export interface SiteRunnable {
  run: () => tf.Tensor;
  dispose: () => void;
}

/** Cells are timed in inference mode (BatchNorm on running statistics); so are their ops. */
const INFERENCE = { training: false };

/**
 * The op of a lookup-table site, built with nn's own constructors, as the measured cells of its kind
 * build it: search cells non-affine BatchNorm with BatchNorm after pools, eval cells affine BatchNorm and
 * bare pools; the preprocessing layers nn's createPreprocess uses.
 */
export function createSiteRunnable(site: OpSite, seed: number): SiteRunnable {
  const store = createParamStore();
  const params = new ParamBuilder(store, createRng(seed));
  const layer = siteLayer(params, site);
  const rng = createRng(deriveSeed(seed, 'input'));
  const shape: [number, number, number, number] = [site.batch, site.hw, site.hw, site.cIn];
  const x = tf.tensor4d(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
  return {
    run: () => {
      const y = layer.apply(x, INFERENCE);
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
  const affine = site.kind === 'eval';
  switch (site.op) {
    case PREPROCESS_RELU_CONV_BN:
      return reluConvBn(params, site.cIn, site.c, affine);
    case PREPROCESS_FACTORIZED_REDUCE:
      return factorizedReduce(params, site.cIn, site.c, affine);
    default:
      return createOp(params, site.op as OpName, { c: site.c, stride: site.stride, affine, poolBatchNorm: !affine });
  }
}
