import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '@lenna/core';
import { predictTargets, trainMlp, type MlpTrainParams, type SplitData } from '../src/train.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** y = sin(2 x0) + x1 · x2: something a linear model cannot fit. */
function data(n: number, seed: number): SplitData {
  const rng = createRng(seed);
  const x = Float32Array.from({ length: n * 3 }, () => 2 * rng.next() - 1);
  const y = Float32Array.from({ length: n }, (_, i) => Math.sin(2 * x[i * 3]) + x[i * 3 + 1] * x[i * 3 + 2]);
  return { x, y };
}

const params: MlpTrainParams = { hidden: [16, 16], skip: false, activation: 'tanh', dropout: 0, weightDecay: 0, learningRate: 0.01, epochs: 60, batchSize: 16, patience: 100, seed: 1 };

function mse(predicted: Float32Array, y: Float32Array): number {
  return predicted.reduce((s, p, i) => s + (p - y[i]) ** 2, 0) / y.length;
}

describe('trainMlp', () => {
  const train = data(128, 1);
  const val = data(64, 2);

  it('fits a non-linear function far better than predicting the mean, and returns the best val epoch', async () => {
    const trained = await trainMlp(train, val, 3, params);
    const predicted = predictTargets(trained.weights, val.x, 3, 'tanh');
    const variance = mse(new Float32Array(val.y.length).fill(val.y.reduce((a, b) => a + b, 0) / val.y.length), val.y);
    expect(mse(predicted, val.y)).toBeLessThan(0.2 * variance);
    const bestLoss = Math.min(...trained.history.map((h) => h.valLoss));
    expect(trained.history[trained.bestEpoch - 1].valLoss).toBe(bestLoss);
    expect(mse(predicted, val.y)).toBeCloseTo(bestLoss, 4);
  });

  it('stops early after `patience` epochs without a better val loss', async () => {
    // A huge learning rate makes val loss bounce: with patience 2 it cannot run all 60 epochs.
    const trained = await trainMlp(train, val, 3, { ...params, learningRate: 1, patience: 2 });
    expect(trained.history.length).toBeLessThan(60);
    expect(trained.history.length - trained.bestEpoch).toBe(2);
  });

  it('is reproducible by seed (dropout included) and differs between seeds', async () => {
    const run = async (seed: number) => {
      const trained = await trainMlp(train, val, 3, { ...params, epochs: 3, dropout: 0.2, seed });
      return Array.from(predictTargets(trained.weights, val.x, 3, 'tanh'));
    };
    expect(await run(5)).toEqual(await run(5));
    expect(await run(5)).not.toEqual(await run(6));
  });
});
