import * as tf from '@tensorflow/tfjs';
import type { EvalNetwork } from './eval-network.js';
import { clipGradNorm, createSgd, globalNorm, type Grads, type Optimizer, type SgdOptimizer } from './optim.js';

export interface Batch {
  x: tf.Tensor4D;
  /** int32 labels [N]. */
  y: tf.Tensor1D;
}

/** A loss and its gradients keyed by variable name, as a network's `gradients` returns them. */
export interface LossAndGrads {
  loss: number;
  grads: Grads;
}

/** Mean softmax cross-entropy of logits [N, K] against integer labels. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(labels, logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as tf.Scalar;
  });
}

/** How many rows of logits have their largest value at the label. */
export function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'int32')) as tf.Scalar);
}

/** A loss or a gradient turned NaN or Inf; the update it belonged to was not applied. */
export class NonFiniteError extends Error {
  /** `quantity`: what was not finite, e.g. "training loss" or "weight gradient". */
  constructor(readonly quantity: string) {
    super(`the ${quantity} is not finite (NaN or Inf)`);
    this.name = 'NonFiniteError';
  }
}

/** What the gradient's non-finite failures are called. */
export interface UpdateNames {
  loss: string;
  gradient: string;
}

/**
 * Applies one optimiser update from `r` (gradients clipped to the global norm `gradClip` when given)
 * and disposes `r.grads`. A non-finite loss or gradient norm throws NonFiniteError before anything
 * moves, so the variables keep their last finite values. Returns the gradient norm before clipping.
 */
export function applyUpdate(optimizer: Optimizer, r: LossAndGrads, o: { gradClip?: number; lr?: number; names: UpdateNames }): number {
  try {
    if (!Number.isFinite(r.loss)) throw new NonFiniteError(o.names.loss);
    const clipped = o.gradClip === undefined ? undefined : clipGradNorm(r.grads, o.gradClip);
    const norm = clipped ? clipped.norm : globalNorm(Object.values(r.grads));
    try {
      if (!Number.isFinite(norm)) throw new NonFiniteError(o.names.gradient);
      optimizer.step(clipped ? clipped.grads : r.grads, o.lr);
    } finally {
      if (clipped) tf.dispose(Object.values(clipped.grads));
    }
    return norm;
  } finally {
    tf.dispose(Object.values(r.grads));
  }
}

export const WEIGHT_UPDATE: UpdateNames = { loss: 'training loss', gradient: 'weight gradient' };

/** One weight step's numbers: the loss, the batch's correct predictions and the gradient norm before clipping. */
export interface StepResult {
  loss: number;
  correct: number;
  gradNorm: number;
}

export interface EvalStepOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
  gradClip: number;
  /** Weight of the auxiliary head's CE in the loss (used when the network has the head). */
  auxiliaryWeight: number;
  /** See GradientRequest.tapeBudgetBytes (default 1.5 GB). */
  tapeBudgetBytes?: number;
}

export interface EvalStep {
  optimizer: SgdOptimizer;
  /**
   * One SGD step (momentum, weight decay, clipping) on CE + auxiliaryWeight·CE_aux of a training
   * batch, drop path at `dropPathProb` with the network's own mask stream; `lr` overrides the rate.
   */
  step(batch: Batch, o: { lr?: number; dropPathProb?: number }): StepResult;
  dispose(): void;
}

/** The evaluation network's training step (DARTS's train.py), on its memory-bounded `gradients`. */
export function createEvalStep(net: EvalNetwork, o: EvalStepOptions): EvalStep {
  const optimizer = createSgd(net.weights, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay });
  return {
    optimizer,
    step(batch, s) {
      let correct: tf.Scalar | undefined;
      const r = net.gradients(
        batch.x,
        (logits, logitsAux) => {
          correct = tf.keep(countCorrect(logits, batch.y));
          const ce = crossEntropy(logits, batch.y);
          return logitsAux ? (tf.add(ce, tf.mul(crossEntropy(logitsAux, batch.y), o.auxiliaryWeight)) as tf.Scalar) : ce;
        },
        { dropPathProb: s.dropPathProb, tapeBudgetBytes: o.tapeBudgetBytes },
      );
      const hits = correct!.dataSync()[0];
      correct!.dispose();
      const gradNorm = applyUpdate(optimizer, r, { gradClip: o.gradClip, lr: s.lr, names: WEIGHT_UPDATE });
      return { loss: r.loss, correct: hits, gradNorm };
    },
    dispose: () => optimizer.dispose(),
  };
}
