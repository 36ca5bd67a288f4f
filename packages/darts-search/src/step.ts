import * as tf from '@tensorflow/tfjs';
import { clipGradNorm, createAdam, createSgd, crossEntropy, type Optimizer, type SearchNetwork } from '@lenna/nn';
import { architectureLoss, type LatencyObjective } from './arch-loss.js';
import type { LatencyTerm } from './latency.js';
import { unrolledArchGrads } from './second-order.js';

export interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
}

export interface StepOptions {
  order: 'first' | 'second';
  momentum: number;
  weightDecay: number;
  gradClip: number;
  archLr: number;
  archBetas: [number, number];
  archWeightDecay: number;
  objective: LatencyObjective;
}

export interface Searcher {
  weightOptimizer: Optimizer;
  alphaOptimizer: Optimizer;
  alphas: tf.Variable[];
  /** The architecture loss as the α step sees it (at w' in second order). */
  archLoss(val: Batch): tf.Scalar;
  /** ∂ architecture loss / ∂α, first or second order; `lr` is the weights' current rate (ξ). */
  archGrads(train: Batch, val: Batch, lr: number): { grads: tf.NamedTensorMap; loss: number };
  /** One α step (Adam) on the α batch. */
  archStep(train: Batch, val: Batch, lr: number): number;
  /** One weight step (SGD, momentum, weight decay, clipping) on the training batch. */
  weightStep(train: Batch, lr: number): { loss: number; correct: number };
  dispose(): void;
}

export function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'int32')) as tf.Scalar);
}

function momentumReader(opt: Optimizer): (i: number) => tf.Tensor | undefined {
  let cache: Record<string, { data: ArrayLike<number>; shape: number[] }> | undefined;
  return (i) => {
    cache ??= opt.state() as Record<string, { data: ArrayLike<number>; shape: number[] }>;
    const t = cache[`momentum.${i}`];
    return t ? tf.tensor(t.data as Float32Array, t.shape) : undefined;
  };
}

export function createSearcher(net: SearchNetwork, latency: LatencyTerm | undefined, o: StepOptions): Searcher {
  const alphas = [net.alphas.normal, net.alphas.reduce];
  const weightOptimizer = createSgd(net.weights, { lr: 0, momentum: o.momentum, weightDecay: o.weightDecay });
  const alphaOptimizer = createAdam(alphas, { lr: o.archLr, beta1: o.archBetas[0], beta2: o.archBetas[1], weightDecay: o.archWeightDecay });
  const ce = (b: Batch) => crossEntropy(net.forward(b.x, { training: true }), b.y);
  const archLoss = (val: Batch): tf.Scalar =>
    tf.tidy(() => {
      const expected = latency && o.objective.lambda > 0 ? latency.expected(net.alphas.normal, net.alphas.reduce) : undefined;
      return architectureLoss(ce(val), expected, o.objective);
    });

  const firstOrder = (val: Batch) => {
    const { value, grads } = tf.variableGrads(() => archLoss(val), alphas);
    const loss = value.dataSync()[0];
    value.dispose();
    return { grads, loss };
  };

  const secondOrder = (train: Batch, val: Batch, lr: number) => {
    const readMomentum = momentumReader(weightOptimizer);
    return unrolledArchGrads({
      weights: net.weights,
      alphas,
      trainLoss: () => ce(train),
      archLoss: () => archLoss(val),
      momentumBuffer: (i) => readMomentum(i),
      momentum: o.momentum,
      weightDecay: o.weightDecay,
      eta: lr,
    });
  };

  const archGrads = (train: Batch, val: Batch, lr: number) => (o.order === 'second' ? secondOrder(train, val, lr) : firstOrder(val));

  return {
    weightOptimizer,
    alphaOptimizer,
    alphas,
    archLoss,
    archGrads,
    archStep(train, val, lr) {
      const { grads, loss } = archGrads(train, val, lr);
      if (Number.isFinite(loss)) alphaOptimizer.step(grads);
      tf.dispose(Object.values(grads));
      return loss;
    },
    weightStep(train, lr) {
      let correct: tf.Scalar | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const logits = net.forward(train.x, { training: true });
        correct = tf.keep(countCorrect(logits, train.y));
        return crossEntropy(logits, train.y);
      }, net.weights);
      const loss = value.dataSync()[0];
      const hits = correct!.dataSync()[0];
      if (Number.isFinite(loss)) {
        const clipped = clipGradNorm(grads, o.gradClip);
        weightOptimizer.step(clipped.grads, lr);
        tf.dispose(Object.values(clipped.grads));
      }
      tf.dispose([value, correct!, ...Object.values(grads)]);
      return { loss, correct: hits };
    },
    dispose() {
      weightOptimizer.dispose();
      alphaOptimizer.dispose();
    },
  };
}
