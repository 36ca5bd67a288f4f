import * as tf from '@tensorflow/tfjs';
import { createRng, deriveSeed } from '@lenna/core';
import {
  createEvalNetwork,
  createOp,
  createParamStore,
  disposeStore,
  factorizedReduce,
  ParamBuilder,
  reluConvBn,
  sampledCells,
  type CellKind,
  type CellShape,
  type EvalNetworkConfig,
  type Layer,
  type OpName,
  type SampledCells,
} from '@lenna/nn';

/**
 * What a target times, as plain JSON (a request crosses into the browser page as it is). The same
 * module builds it in Node and in the page: one implementation of every timed thing.
 */

/** A cell's shape at its batch size, and its kind: built as the search (`search`) or the evaluation network (`eval`) builds its cells. */
export type BatchedCellShape = CellShape & { batch: number; kind: CellKind };

/** The two input preprocessing ops of a cell, named as they appear in dataset-gen's op lookup table. */
export const PREPROCESS_RELU_CONV_BN = 'preprocess_relu_conv_bn';
export const PREPROCESS_FACTORIZED_REDUCE = 'preprocess_factorized_reduce';

/** One op alone at one place of a cell: a DARTS op or one of the two preprocessing ops. */
export interface OpSite {
  op: string;
  stride: number;
  cIn: number;
  c: number;
  hw: number;
  batch: number;
  /** Built as in a search cell (non-affine BN, BN after pools) or an eval cell (affine BN, bare pools). */
  kind: CellKind;
}

/** An evaluation network: nn's createEvalNetwork config without its seed (the request's). */
export type NetworkConfig = Pick<EvalNetworkConfig, 'genotype' | 'C' | 'layers' | 'numClasses' | 'inputChannels' | 'inputSize'>;

/** Something ready to time: `run` is one forward pass. */
export interface TimedSubject {
  run: () => tf.Tensor;
  dispose: () => void;
}

/** Cells, ops and networks are timed as they run in an inference pass (BatchNorm on running statistics). */
const INFERENCE = { training: false };

/** A cell with one op per edge, its weights and inputs drawn from `seed`, built as its kind builds it (nn's sampledCells). */
export function cellSubject(req: { shape: BatchedCellShape; ops: readonly string[]; choice: readonly number[]; seed: number }): TimedSubject {
  const family = cellFamily(req.shape, req.ops, req.seed);
  try {
    const cell = family.build([...req.choice]);
    return {
      run: cell.run,
      dispose: () => {
        cell.dispose();
        family.dispose();
      },
    };
  } catch (err) {
    family.dispose();
    throw err;
  }
}

/** The cells of one shape, op set and seed, in inference mode: inputs drawn once, each `build(choice)` one cell. */
export function cellFamily(shape: BatchedCellShape, ops: readonly string[], seed: number): SampledCells {
  return sampledCells(shape, ops as OpName[], seed, { ...INFERENCE, kind: shape.kind });
}

/**
 * The op of an op-table site, built with nn's own constructors as the measured cells of its kind
 * build it: search cells non-affine BatchNorm with BatchNorm after pools, eval cells affine BatchNorm
 * and bare pools; the preprocessing layers nn's createPreprocess uses. Applied to a fixed random input
 * of the site's shape.
 */
export function opSubject(site: OpSite, seed: number): TimedSubject {
  const store = createParamStore();
  const params = new ParamBuilder(store, createRng(seed));
  const layer = siteLayer(params, site);
  const x = randomBatch([site.batch, site.hw, site.hw, site.cIn], deriveSeed(seed, 'input'));
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

/**
 * The whole evaluation network's inference forward pass (stem, cells, classifier) on a seeded random
 * batch. Its weights are the seed's initial ones: a forward pass costs the same whatever the values.
 */
export function networkSubject(config: NetworkConfig, batch: number, seed: number): TimedSubject {
  const net = createEvalNetwork({ ...config, seed });
  const x = randomBatch([batch, config.inputSize, config.inputSize, config.inputChannels], seed);
  return {
    run: () => net.forward(x, INFERENCE).logits,
    dispose: () => {
      x.dispose();
      net.dispose();
    },
  };
}

function randomBatch(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = createRng(seed);
  return tf.tensor4d(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
}
