import * as tf from '@tensorflow/tfjs';
import { clipGradNorm, cosineLr, createSgd, crossEntropy, dropPathRamp, type EvalNetwork } from '@lenna/nn';
import { createBatcher, type AugmentOptions, type ImageSet } from '@lenna/data';

/** One row of history.arrow. */
export interface EpochRecord {
  epoch: number;
  train_loss: number;
  train_acc: number;
  val_acc: number;
  lr: number;
  drop_path_prob: number;
  seconds: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  lrMin: number;
  momentum: number;
  weightDecay: number;
  gradClip: number;
  auxiliaryWeight: number;
  dropPath: number;
  seed: number;
  augment?: AugmentOptions;
}

export interface TrainHooks {
  /** After every step: steps done so far over all epochs. */
  onStep?(done: number, total: number, epoch: number): void;
  onEpoch?(record: EpochRecord): void;
  signal?: AbortSignal;
}

interface StepResult {
  loss: number;
  correct: number;
  size: number;
}

/**
 * DARTS's train.py: per epoch the cosine learning rate and the drop-path ramp are set, then SGD with
 * momentum and weight decay on CE (+ auxiliaryWeight · CE of the auxiliary head), gradients clipped
 * to a global norm; val accuracy after every epoch.
 */
export async function trainEvalNetwork(net: EvalNetwork, train: ImageSet, val: ImageSet, o: TrainOptions, hooks: TrainHooks = {}): Promise<EpochRecord[]> {
  const batcher = createBatcher(train, { batchSize: o.batchSize, seed: o.seed, augment: o.augment });
  const optimizer = createSgd(net.weights, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay });
  const total = batcher.batchesPerEpoch * o.epochs;
  const history: EpochRecord[] = [];
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const start = performance.now();
      const lr = cosineLr(o.lr, o.lrMin, epoch, o.epochs);
      const dropPathProb = dropPathRamp(o.dropPath, epoch, o.epochs);
      const sums = { loss: 0, correct: 0, size: 0 };
      let step = 0;
      for (const batch of batcher.epochBatches()) {
        if (hooks.signal?.aborted) {
          tf.dispose([batch.x, batch.y]);
          throw new Error(`retrain-eval was cancelled at epoch ${epoch} step ${step}.`);
        }
        const r = trainStep(net, batch, { lr, dropPathProb, gradClip: o.gradClip, auxiliaryWeight: o.auxiliaryWeight }, optimizer);
        if (!Number.isFinite(r.loss)) throw new Error(`retrain-eval: the training loss is ${r.loss} at epoch ${epoch} step ${step}; lower lr or check the data.`);
        sums.loss += r.loss * r.size;
        sums.correct += r.correct;
        sums.size += r.size;
        step++;
        hooks.onStep?.(epoch * batcher.batchesPerEpoch + step, total, epoch);
      }
      const valAcc = evaluateAccuracy(net, val, o.batchSize);
      const record: EpochRecord = {
        epoch,
        train_loss: sums.loss / sums.size,
        train_acc: sums.correct / sums.size,
        val_acc: valAcc,
        lr,
        drop_path_prob: dropPathProb,
        seconds: (performance.now() - start) / 1000,
      };
      history.push(record);
      hooks.onEpoch?.(record);
    }
  } finally {
    optimizer.dispose();
  }
  return history;
}

function trainStep(
  net: EvalNetwork,
  batch: { x: tf.Tensor4D; y: tf.Tensor1D },
  o: { lr: number; dropPathProb: number; gradClip: number; auxiliaryWeight: number },
  optimizer: ReturnType<typeof createSgd>,
): StepResult {
  let correct: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const { logits, logitsAux } = net.forward(batch.x, { training: true, dropPathProb: o.dropPathProb });
    correct = tf.keep(countCorrect(logits, batch.y));
    const loss = crossEntropy(logits, batch.y);
    return logitsAux ? tf.add(loss, tf.mul(crossEntropy(logitsAux, batch.y), o.auxiliaryWeight)) : loss;
  }, net.weights);
  const clipped = clipGradNorm(grads, o.gradClip);
  optimizer.step(clipped.grads, o.lr);
  const result = { loss: value.dataSync()[0], correct: correct!.dataSync()[0], size: batch.y.shape[0] };
  tf.dispose([value, correct!, batch.x, batch.y, ...Object.values(grads), ...Object.values(clipped.grads)]);
  return result;
}

function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')) as tf.Scalar);
}

/** Top-1 accuracy of the network in inference mode (BatchNorm on running statistics) over a whole set. */
export function evaluateAccuracy(net: EvalNetwork, set: ImageSet, batchSize: number): number {
  const batcher = createBatcher(set, { batchSize, seed: 0, shuffle: false });
  let correct = 0;
  for (const batch of batcher.epochBatches()) {
    correct += tf.tidy(() => countCorrect(net.forward(batch.x, { training: false }).logits, batch.y).dataSync()[0]);
    tf.dispose([batch.x, batch.y]);
  }
  return correct / set.count;
}
