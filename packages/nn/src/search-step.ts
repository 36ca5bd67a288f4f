import * as tf from '@tensorflow/tfjs';
import { clipGradNorm, createAdam, createSgd, type Optimizer } from './optim.js';
import type { SearchNetwork } from './search-network.js';

/** Mean softmax cross-entropy of logits [N, K] against integer labels. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(labels, logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as tf.Scalar;
  });
}

export interface Batch {
  x: tf.Tensor4D;
  /** int32 labels [N]. */
  y: tf.Tensor1D;
}

export interface FirstOrderOptions {
  weightLr: number;
  momentum: number;
  weightDecay: number;
  gradClip: number;
  alphaLr: number;
  alphaBeta1: number;
  alphaBeta2: number;
  alphaWeightDecay: number;
}

/** The official DARTS search defaults. */
export const DARTS_SEARCH_DEFAULTS: FirstOrderOptions = Object.freeze({
  weightLr: 0.025,
  momentum: 0.9,
  weightDecay: 3e-4,
  gradClip: 5,
  alphaLr: 3e-4,
  alphaBeta1: 0.5,
  alphaBeta2: 0.999,
  alphaWeightDecay: 1e-3,
});

export interface FirstOrderSearch {
  weightOptimizer: Optimizer;
  alphaOptimizer: Optimizer;
  /**
   * One first-order DARTS step: an α step (Adam) on the validation batch, then a weight step
   * (SGD, momentum, weight decay, gradient clipping) on the training batch. `weightLr` overrides the rate.
   */
  step(train: Batch, val: Batch, weightLr?: number): { trainLoss: number; valLoss: number; gradNorm: number };
  dispose(): void;
}

export function createFirstOrderSearch(net: SearchNetwork, opts: Partial<FirstOrderOptions> = {}): FirstOrderSearch {
  const o = { ...DARTS_SEARCH_DEFAULTS, ...opts };
  const alphaVars = [net.alphas.normal, net.alphas.reduce];
  const alphaOptimizer = createAdam(alphaVars, { lr: o.alphaLr, beta1: o.alphaBeta1, beta2: o.alphaBeta2, weightDecay: o.alphaWeightDecay });
  const weightOptimizer = createSgd(net.weights, { lr: o.weightLr, momentum: o.momentum, weightDecay: o.weightDecay });
  return {
    weightOptimizer,
    alphaOptimizer,
    step(train, val, weightLr) {
      const a = net.gradients(val.x, (logits) => crossEntropy(logits, val.y), { alphas: true });
      alphaOptimizer.step(a.grads);
      tf.dispose(Object.values(a.grads));
      const w = net.gradients(train.x, (logits) => crossEntropy(logits, train.y), { weights: true });
      const clipped = clipGradNorm(w.grads, o.gradClip);
      weightOptimizer.step(clipped.grads, weightLr);
      tf.dispose([...Object.values(w.grads), ...Object.values(clipped.grads)]);
      return { trainLoss: w.loss, valLoss: a.loss, gradNorm: clipped.norm };
    },
    dispose() {
      alphaOptimizer.dispose();
      weightOptimizer.dispose();
    },
  };
}
