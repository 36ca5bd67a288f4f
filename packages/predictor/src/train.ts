import * as tf from '@tensorflow/tfjs';
import { createRng, deriveSeed } from '@lenna/core';
import { initMlp, kernelL2, mlpForward, mlpTensors, type Activation, type MlpWeights } from '@lenna/latency-model';

export interface MlpTrainParams {
  hidden: number[];
  /** Add a linear path from the inputs to the output (see MlpWeights.skip). */
  skip: boolean;
  activation: Activation;
  dropout: number;
  weightDecay: number;
  learningRate: number;
  epochs: number;
  batchSize: number;
  patience: number;
  seed: number;
}

/** Row-major features and the transformed target of one split. */
export interface SplitData {
  x: Float32Array;
  y: Float32Array;
}

export interface EpochReport {
  epoch: number;
  trainLoss: number;
  valLoss: number;
}

export interface TrainedMlp {
  weights: MlpWeights;
  bestEpoch: number;
  history: EpochReport[];
}

function meanSquaredError(weights: MlpWeights, data: SplitData, features: number, activation: Activation): number {
  return tf.tidy(() => {
    const x = tf.tensor2d(data.x, [data.y.length, features]);
    const y = tf.tensor2d(data.y, [data.y.length, 1]);
    return tf.losses.meanSquaredError(y, mlpForward(weights, x, activation)).dataSync()[0];
  });
}

function snapshot(weights: MlpWeights): Float32Array[] {
  return mlpTensors(weights).map((t) => t.dataSync().slice() as Float32Array);
}

/** Training diverged: the stage fails with where it happened, before anything is written. */
function nonFinite(what: string, value: number, epoch: number, step: number, learningRate: number): Error {
  return new Error(
    `predictor: the ${what} is ${value} (not finite) at epoch ${epoch}, step ${step}; lower learningRate (now ${learningRate}) or raise weightDecay. Nothing was written.`,
  );
}

/**
 * Adam on the MSE of the transformed target plus weightDecay · Σ‖W‖², early-stopped on val MSE:
 * training stops after `patience` epochs without improvement and returns the best epoch's weights.
 * Deterministic on one backend: initial weights, batch order and dropout each draw from their own
 * stream of `seed`. A non-finite loss throws (naming epoch and step) instead of returning weights.
 */
export async function trainMlp(
  train: SplitData,
  val: SplitData,
  features: number,
  params: MlpTrainParams,
  onEpoch?: (report: EpochReport) => void,
  signal?: AbortSignal,
): Promise<TrainedMlp> {
  const shuffleRng = createRng(deriveSeed(params.seed, 'shuffle'));
  const dropoutRng = createRng(deriveSeed(params.seed, 'dropout'));
  const weights: MlpWeights = initMlp(features, params.hidden, params.activation, deriveSeed(params.seed, 'init'), params.skip);
  const optimizer = tf.train.adam(params.learningRate);
  const n = train.y.length;
  const order = Array.from({ length: n }, (_, i) => i);
  const history: EpochReport[] = [];
  let best = { loss: Infinity, epoch: 0, values: snapshot(weights) };
  const xAll = tf.tensor2d(train.x, [n, features]);
  const yAll = tf.tensor2d(train.y, [n, 1]);
  try {
    for (let epoch = 1; epoch <= params.epochs && epoch - best.epoch <= params.patience; epoch++) {
      signal?.throwIfAborted();
      shuffleRng.shuffle(order);
      let lossSum = 0;
      for (let start = 0, step = 1; start < n; start += params.batchSize, step++) {
        const batch = order.slice(start, start + params.batchSize);
        const dropoutSeed = dropoutRng.int(2 ** 30);
        const loss = tf.tidy(() => {
          const rows = tf.tensor1d(batch, 'int32');
          const x = tf.gather(xAll, rows);
          const y = tf.gather(yAll, rows);
          return optimizer.minimize(() => {
            const predicted = mlpForward(weights, x as tf.Tensor2D, params.activation, { dropout: params.dropout, dropoutSeed });
            const mse = tf.losses.meanSquaredError(y, predicted);
            return (params.weightDecay > 0 ? tf.add(mse, tf.mul(params.weightDecay, kernelL2(weights))) : mse) as tf.Scalar;
          }, true)!;
        });
        const value = loss.dataSync()[0];
        loss.dispose();
        if (!Number.isFinite(value)) throw nonFinite('training loss', value, epoch, step, params.learningRate);
        lossSum += value * batch.length;
      }
      const report = { epoch, trainLoss: lossSum / n, valLoss: meanSquaredError(weights, val, features, params.activation) };
      if (!Number.isFinite(report.valLoss)) throw nonFinite('validation loss', report.valLoss, epoch, Math.ceil(n / params.batchSize), params.learningRate);
      history.push(report);
      onEpoch?.(report);
      if (report.valLoss < best.loss) best = { loss: report.valLoss, epoch, values: snapshot(weights) };
      // Yield so that progress messages and an abort get through between epochs.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } catch (error) {
    tf.dispose(mlpTensors(weights));
    throw error;
  } finally {
    tf.dispose([xAll, yAll]);
    optimizer.dispose();
  }
  const tensors = mlpTensors(weights) as tf.Variable[];
  tf.tidy(() => tensors.forEach((t, i) => t.assign(tf.tensor(best.values[i], t.shape))));
  return { weights, bestEpoch: best.epoch, history };
}

/** Transformed-target predictions for row-major features, in batches so memory stays small. */
export function predictTargets(weights: MlpWeights, x: Float32Array, features: number, activation: Activation): Float32Array {
  const n = x.length / features;
  const out = new Float32Array(n);
  const chunk = 4096;
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    const values = tf.tidy(() => mlpForward(weights, tf.tensor2d(x.subarray(start * features, (start + rows) * features), [rows, features]), activation).dataSync());
    out.set(values, start);
  }
  return out;
}
