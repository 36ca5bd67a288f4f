import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@lenna/compute';
import { decodeSafetensors, UserError } from '@lenna/core';
import { CHECKPOINT_FILE, createEvalNetwork, crossEntropy, type Genotype } from '@lenna/nn';
import { loadDataset, type ImageSet } from '@lenna/data';
import { evaluateAccuracy, trainEvalNetwork, type TrainOptions } from '../src/train.js';

const genotype: Genotype = {
  normal: [['sep_conv_3x3', 0], ['skip_connect', 1], ['max_pool_3x3', 0], ['sep_conv_3x3', 2], ['avg_pool_3x3', 1], ['dil_conv_3x3', 3], ['skip_connect', 4], ['sep_conv_3x3', 0]],
  normal_concat: [2, 3, 4, 5],
  reduce: [['max_pool_3x3', 0], ['sep_conv_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 1], ['dil_conv_5x5', 0], ['skip_connect', 2], ['avg_pool_3x3', 3], ['max_pool_3x3', 1]],
  reduce_concat: [2, 3, 4, 5],
};

const options: TrainOptions = { epochs: 4, batchSize: 16, lr: 0.05, lrMin: 0, momentum: 0.9, weightDecay: 3e-4, gradClip: 5, auxiliaryWeight: 0.4, dropPath: 0, seed: 3 };

const netFor = (set: ImageSet, auxiliary = false) =>
  createEvalNetwork({ genotype, C: 4, layers: 3, numClasses: set.numClasses, inputChannels: set.channels, inputSize: set.height, auxiliary, seed: 1 });

const tensorsOf = (set: ImageSet) => ({
  x: tf.tensor4d(set.images, [set.count, set.height, set.width, set.channels]),
  y: tf.tensor1d(set.labels, 'int32'),
});

beforeAll(async () => {
  await initBackend({ quiet: true });
});

describe('trainEvalNetwork', () => {
  it('learns synthetic data well above chance in a few epochs, with the cosine schedule', async () => {
    const data = await loadDataset({ name: 'synthetic', seed: 0, synthetic: { count: 200, hw: 8, channels: 3, classes: 4 } });
    const net = netFor(data.train);
    const before = evaluateAccuracy(net, data.test, 32);
    const tensorsBefore = tf.memory().numTensors;
    const history = await trainEvalNetwork(net, data.train, data.val, options);
    // Every step's tensors and the optimiser's momentum buffers are freed again.
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const after = evaluateAccuracy(net, data.test, 32);
    expect(history.map((r) => r.epoch)).toEqual([0, 1, 2, 3]);
    history.forEach((r, e) => expect(r.lr).toBeCloseTo(0.05 * (1 + Math.cos((Math.PI * e) / 4)) / 2, 12));
    expect(history[3].train_loss).toBeLessThan(history[0].train_loss);
    // Chance is 0.25 on 4 balanced classes.
    expect(after).toBeGreaterThan(0.6);
    expect(after).toBeGreaterThan(before);
    expect(history[3].val_acc).toBeGreaterThan(0.6);
    net.dispose();
  });

  it('evaluateAccuracy counts argmax hits over the whole set (against a direct count)', async () => {
    const data = await loadDataset({ name: 'synthetic', seed: 1, synthetic: { count: 60, hw: 8, channels: 3, classes: 3 } });
    const net = netFor(data.train);
    const { x, y } = tensorsOf(data.test);
    const predicted = tf.tidy(() => tf.argMax(net.forward(x, { training: false }).logits, 1).dataSync());
    const hits = Array.from(predicted).filter((p, i) => p === data.test.labels[i]).length;
    expect(evaluateAccuracy(net, data.test, 4)).toBeCloseTo(hits / data.test.count, 12);
    tf.dispose([x, y]);
    net.dispose();
  });

  it('adds auxiliaryWeight times the auxiliary head CE to the loss, and ramps drop path linearly', async () => {
    const data = await loadDataset({ name: 'synthetic', seed: 2, synthetic: { count: 50, hw: 20, channels: 1, classes: 3 } });
    const net = netFor(data.train, true);
    const { x, y } = tensorsOf(data.train);
    // One batch of the whole split: BatchNorm sees the same statistics as this forward pass.
    const [main, aux] = tf.tidy(() => {
      const out = net.forward(x, { training: true });
      return [crossEntropy(out.logits, y).dataSync()[0], crossEntropy(out.logitsAux!, y).dataSync()[0]];
    });
    tf.dispose([x, y]);
    const o = { ...options, epochs: 2, batchSize: data.train.count, auxiliaryWeight: 0.7, dropPath: 0.5 };
    const history = await trainEvalNetwork(net, data.train, data.val, o);
    expect(Math.abs(0.7 * aux)).toBeGreaterThan(1e-3);
    expect(history[0].train_loss).toBeCloseTo(main + 0.7 * aux, 4);
    expect(history.map((r) => r.drop_path_prob)).toEqual([0, 0.25]);
    expect(Number.isFinite(history[1].train_loss)).toBe(true);
    net.dispose();
  });
});

describe('a loss that is not finite', () => {
  it('stops training naming the stage, epoch and step, and keeps the checkpoint of the last finished epoch', async () => {
    const data = await loadDataset({ name: 'synthetic', seed: 0, synthetic: { count: 60, hw: 8, channels: 3, classes: 4 } });
    const net = netFor(data.train);
    const dir = await mkdtemp(join(tmpdir(), 'retrain-nan-'));
    try {
      // After the first epoch (and its checkpoint) a weight turns NaN, as a diverging run's would.
      const poison = () => net.weights[0].assign(tf.fill(net.weights[0].shape, Number.NaN));
      const training = trainEvalNetwork(net, data.train, data.val, { ...options, epochs: 3 }, { checkpoint: { dir, runKey: 'k' }, onEpoch: (r) => r.epoch === 0 && poison() });
      await expect(training).rejects.toThrow(/^retrain-eval stopped at epoch 2, step 1: the training loss is not finite \(NaN or Inf\); lower lr/);
      await expect(training).rejects.toBeInstanceOf(UserError);
      const { tensors, metadata } = decodeSafetensors(await readFile(join(dir, CHECKPOINT_FILE)));
      expect(JSON.parse(metadata['lenna.state']).epoch).toBe(1);
      expect((tensors['net.stem.conv.weight'].data as Float32Array).every(Number.isFinite)).toBe(true);
    } finally {
      net.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
