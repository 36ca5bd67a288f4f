import * as tf from '@tensorflow/tfjs';
import type { BatchedCellShape } from './cell.js';
import { NUMERIC_SHAPE_COLUMNS } from './columns.js';
import { categoricalFeatures, type ModelBase, type Transforms } from './transforms.js';

/**
 * The same features as applyTransforms, as tfjs ops: differentiable in `probs` ([edges, ops]) and in
 * `additiveMs` (a scalar, itself Σ p·costs), so a search can back-propagate a predicted latency into
 * its architecture parameters.
 */
export function transformFeaturesTf(t: Transforms, shape: BatchedCellShape, probs: tf.Tensor2D, additiveMs: tf.Scalar): tf.Tensor2D {
  const [edges, ops] = probs.shape;
  if (edges !== t.edges || ops !== t.ops.length) {
    throw new Error(`Probabilities must be [${t.edges}, ${t.ops.length}] (edges, ops), got [${edges}, ${ops}].`);
  }
  return tf.tidy(() => {
    const raw = tf.tensor1d(NUMERIC_SHAPE_COLUMNS.map(({ field }) => shape[field]));
    const mean = tf.tensor1d(NUMERIC_SHAPE_COLUMNS.map(({ column }) => t.numeric[column].mean));
    const std = tf.tensor1d(NUMERIC_SHAPE_COLUMNS.map(({ column }) => t.numeric[column].std));
    const numeric = tf.div(tf.sub(tf.log(raw), mean), std);
    const additive = tf.reshape(tf.div(tf.sub(tf.log(additiveMs), t.additive.mean), t.additive.std), [1]);
    const categorical = tf.tensor1d(categoricalFeatures(shape));
    const flat = tf.reshape(probs, [-1]);
    const probFeatures = t.probs.mode === 'raw' ? flat : tf.div(tf.sub(flat, tf.tensor1d(t.probs.mean)), tf.tensor1d(t.probs.std));
    return tf.reshape(tf.concat([categorical, numeric, additive, probFeatures]), [1, -1]) as tf.Tensor2D;
  });
}

/** targetToMs as tfjs ops: the model's output back to ms (times the additive estimate for a residual model). */
export function targetToMsTf<R extends tf.Rank>(t: Transforms, target: tf.Tensor<R>, base: ModelBase = 'none', additiveMs?: tf.Scalar): tf.Tensor<R> {
  return tf.tidy(() => {
    const s = base === 'additive' ? t.residual : t.target;
    const ms = tf.exp(tf.add(tf.mul(target, s.std), s.mean)) as tf.Tensor<R>;
    if (base !== 'additive') return ms;
    if (!additiveMs) throw new Error('A residual model needs the additive estimate to give ms.');
    return tf.mul(ms, additiveMs) as tf.Tensor<R>;
  });
}
