import * as tf from '@tensorflow/tfjs';
import { createRng, deriveSeed } from '@lenna/core';

export type Activation = 'relu' | 'elu' | 'tanh';

/**
 * An MLP as plain tensors: layer i maps [*, in_i] to [*, out_i]; the last layer is linear with one output.
 * `skip` ([inputs, 1]), when present, adds a linear function of the inputs to the output ("wide and deep"):
 * the linear part carries what ridge regression can fit, so the hidden layers learn the non-additive rest,
 * which matters on the small data sets a quickstart measures.
 */
export interface MlpWeights {
  kernels: tf.Tensor2D[];
  biases: tf.Tensor1D[];
  skip?: tf.Tensor2D;
}

/** Layer sizes from input width through the hidden sizes to one output. */
export function layerSizes(inputs: number, hidden: readonly number[]): number[] {
  return [inputs, ...hidden, 1];
}

/** He-normal kernels (Glorot for tanh) drawn from the seeded RNG, zero biases, as trainable variables. */
export function initMlp(
  inputs: number,
  hidden: readonly number[],
  activation: Activation,
  seed: number,
  skip = false,
): { kernels: tf.Variable<tf.Rank.R2>[]; biases: tf.Variable<tf.Rank.R1>[]; skip?: tf.Variable<tf.Rank.R2> } {
  const rng = createRng(seed);
  const sizes = layerSizes(inputs, hidden);
  const kernels: tf.Variable<tf.Rank.R2>[] = [];
  const biases: tf.Variable<tf.Rank.R1>[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [fanIn, fanOut] = [sizes[l], sizes[l + 1]];
    const std = activation === 'tanh' ? Math.sqrt(2 / (fanIn + fanOut)) : Math.sqrt(2 / fanIn);
    const values = Float32Array.from({ length: fanIn * fanOut }, () => rng.normal() * std);
    kernels.push(tf.variable(tf.tensor2d(values, [fanIn, fanOut])));
    biases.push(tf.variable(tf.zeros([fanOut]) as tf.Tensor1D));
  }
  return skip ? { kernels, biases, skip: tf.variable(tf.zeros([inputs, 1]) as tf.Tensor2D) } : { kernels, biases };
}

function activate(x: tf.Tensor2D, activation: Activation): tf.Tensor2D {
  if (activation === 'relu') return tf.relu(x);
  if (activation === 'elu') return tf.elu(x);
  return tf.tanh(x);
}

export interface ForwardOptions {
  /** Dropout rate on hidden activations while training; 0 (or absent) at inference. */
  dropout?: number;
  dropoutSeed?: number;
}

/** [n, inputs] → [n, 1] (the transformed target). */
export function mlpForward(weights: MlpWeights, x: tf.Tensor2D, activation: Activation, options: ForwardOptions = {}): tf.Tensor2D {
  const last = weights.kernels.length - 1;
  let h = x;
  weights.kernels.forEach((kernel, l) => {
    h = tf.add(tf.matMul(h, kernel), weights.biases[l]) as tf.Tensor2D;
    if (l < last) {
      h = activate(h, activation);
      if (options.dropout) h = tf.dropout(h, options.dropout, undefined, deriveSeed(options.dropoutSeed ?? 0, `layer ${l}`)) as tf.Tensor2D;
    }
  });
  return weights.skip ? (tf.add(h, tf.matMul(x, weights.skip)) as tf.Tensor2D) : h;
}

/** Σ of squared kernel entries, skip included (the weight-decay penalty; biases are not decayed). */
export function kernelL2(weights: MlpWeights): tf.Scalar {
  return tf.addN(allKernels(weights).map((k) => tf.sum(tf.square(k)))) as tf.Scalar;
}

function allKernels(weights: MlpWeights): tf.Tensor[] {
  return weights.skip ? [...weights.kernels, weights.skip] : weights.kernels;
}

/** Every tensor of the model, in a fixed order (for snapshots and disposal). */
export function mlpTensors(weights: MlpWeights): tf.Tensor[] {
  return [...allKernels(weights), ...weights.biases];
}
