import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_FILE, createAdam, createSearchNetwork, createSgd, loadCheckpoint, saveCheckpoint, saveState } from '../src/index.js';
import { useCpu, values } from './setup.js';

let dir: string;

beforeAll(async () => {
  await useCpu();
  dir = await mkdtemp(join(tmpdir(), 'nn-checkpoint-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = { C: 2, layers: 2, nodes: 2, ops: ['none', 'skip_connect', 'avg_pool_3x3'] as const, numClasses: 3, inputChannels: 1, inputSize: 4 };

describe('training checkpoints', () => {
  it('bring back the network (weights, BatchNorm statistics, α), every optimiser and the JSON state; another run key or format is ignored', async () => {
    const net = createSearchNetwork({ ...config, ops: [...config.ops], seed: 1 });
    const sgd = createSgd(net.weights, { lr: 0.1, momentum: 0.9 });
    const adam = createAdam([net.alphas.normal, net.alphas.reduce], { lr: 0.01 });
    const x = tf.randomNormal([2, 4, 4, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const step = () => {
      const r = net.gradients(x, (logits) => tf.sum(logits) as tf.Scalar, { weights: true, alphas: true });
      sgd.step(r.grads);
      adam.step(r.grads);
      tf.dispose(Object.values(r.grads));
    };
    step();
    const id = { format: 'test-checkpoint', runKey: 'abc' };
    const state = { batcher: { epoch: 1, position: 4 }, history: [{ loss: 0.5 }] };
    await saveCheckpoint(dir, id, { net, optimizers: { weights: sgd, alphas: adam } }, { epoch: 1, state });
    expect(await readdir(dir)).toEqual([CHECKPOINT_FILE]);
    const saved = { net: saveState(net), sgd: sgd.state(), adam: adam.state() };
    step();

    // A fresh network and fresh optimisers from another seed: everything comes from the file.
    const other = createSearchNetwork({ ...config, ops: [...config.ops], seed: 2 });
    const [sgd2, adam2] = [createSgd(other.weights, { lr: 0.1, momentum: 0.9 }), createAdam([other.alphas.normal, other.alphas.reduce], { lr: 0.01 })];
    const parts = { net: other, optimizers: { weights: sgd2, alphas: adam2 } };
    expect(await loadCheckpoint(dir, { ...id, runKey: 'other' }, parts)).toBeUndefined();
    expect(await loadCheckpoint(dir, { ...id, format: 'another-stage' }, parts)).toBeUndefined();
    expect(await loadCheckpoint(join(dir, 'missing'), id, parts)).toBeUndefined();
    expect(await loadCheckpoint(dir, id, parts)).toEqual({ epoch: 1, state });
    const loaded = saveState(other);
    for (const [name, t] of Object.entries(saved.net)) expect(Array.from(loaded[name].data as Float32Array), name).toEqual(Array.from(t.data as Float32Array));
    expect(sgd2.state()).toEqual(saved.sgd);
    expect(adam2.state()).toEqual(saved.adam);
    // The network moved on after the save; what came back is the saved state.
    expect(values(other.alphas.reduce)).not.toEqual(values(net.alphas.reduce));
  });
});
