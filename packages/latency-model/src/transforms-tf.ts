import * as tf from '@tensorflow/tfjs';
import type { BatchedCellShape } from './cell.js';
import { NUMERIC_SHAPE_COLUMNS } from './columns.js';
import { categoricalFeatures, type Transforms } from './transforms.js';

/**
 * The same features as applyTransforms, as tfjs ops: differentiable in `probs` ([edges, ops]),
 * so a search can back-propagate a predicted latency into its architecture parameters.
 */
export function transformFeaturesTf(t: Transforms, shape: BatchedCellShape, probs: tf.Tensor2D): tf.Tensor2D {
  const [edges, ops] = probs.shape;
  if (edges !== t.edges || ops !== t.ops.length) {
    throw new Error(`Probabilities must be [${t.edges}, ${t.ops.length}] (edges, ops), got [${edges}, ${ops}].`);
  }
  return tf.tidy(() => {
    const raw = tf.tensor1d(NUMERIC_SHAPE_COLUMNS.map(({ field }) => shape[field]));
    const mean = tf.tensor1d(NUMERIC_SHAPE_COLUMNS.map(({ column }) => t.numeric[column].mean));
    const std = tf.tensor1d(NUMERIC_SHAPE_COLUMNS.map(({ column }) => t.numeric[column].std));
    const numeric = tf.div(tf.sub(tf.log(raw), mean), std);
    const categorical = tf.tensor1d(categoricalFeatures(shape));
    const flat = tf.reshape(probs, [-1]);
    const probFeatures = t.probs.mode === 'raw' ? flat : tf.div(tf.sub(flat, tf.tensor1d(t.probs.mean)), tf.tensor1d(t.probs.std));
    return tf.reshape(tf.concat([categorical, numeric, probFeatures]), [1, -1]) as tf.Tensor2D;
  });
}

export function msToTargetTf<R extends tf.Rank>(t: Transforms, ms: tf.Tensor<R>): tf.Tensor<R> {
  return tf.tidy(() => tf.div(tf.sub(tf.log(ms), t.target.mean), t.target.std) as tf.Tensor<R>);
}

export function targetToMsTf<R extends tf.Rank>(t: Transforms, target: tf.Tensor<R>): tf.Tensor<R> {
  return tf.tidy(() => tf.exp(tf.add(tf.mul(target, t.target.std), t.target.mean)) as tf.Tensor<R>);
}
