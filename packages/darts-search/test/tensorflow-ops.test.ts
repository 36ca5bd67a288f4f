import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from '@lenna/compute';
import { nonPortableRequests, registerRecordingTensorflow, tfjsNodeOrSkip, writeListing, type RecordingTensorflow } from '@lenna/compute/testing';
import { createSearchNetwork, createSearchStep, DARTS_OPS, edgeCount, type Batch } from '@lenna/nn';
import { architectureLoss } from '../src/arch-loss.js';
import { createLatencyTerm } from '../src/latency.js';
import { handModel, LATENCY_BATCH } from './helpers.js';

/**
 * The GPU path, checked here without a GPU: the search step the darts-search stage runs, first and
 * second order, through tfjs-node 4.22.0's own kernels over a stand-in binding that records every op
 * they ask TensorFlow for (see compute's README). The same step on the cpu backend is the reference.
 */
const tfjsNode = await tfjsNodeOrSkip();

/** The reference search network's structure, small: every DARTS op on every edge, a normal cell and two reduction cells. */
const NET = { C: 4, layers: 3, nodes: 2, ops: [...DARTS_OPS], numClasses: 10, inputChannels: 3, inputSize: 8, seed: 1 };
const BATCH = 4;

function batch(seed: number): Batch {
  return {
    x: tf.randomNormal([BATCH, NET.inputSize, NET.inputSize, NET.inputChannels], 0, 1, 'float32', seed) as tf.Tensor4D,
    y: tf.tensor1d(Array.from({ length: BATCH }, (_, i) => (i * 7 + seed) % NET.numClasses), 'int32'),
  };
}

interface StepResult {
  archGrads: Float32Array[];
  archLoss: number;
  weightLoss: number;
  weights: Float32Array[];
}

/** One darts-search step as the stage runs it: an α step on the α batch, then a weight step (nn's createSearchStep). */
async function searchStep(backend: string, order: 'first' | 'second'): Promise<StepResult> {
  await tf.setBackend(backend);
  const net = createSearchNetwork(NET);
  const { model } = handModel(NET.ops, edgeCount(NET.nodes), NET);
  const latency = createLatencyTerm(model, net.shapes, NET.ops, NET.nodes, LATENCY_BATCH);
  const objective = { lambda: 0.5, form: 'additive' as const, beta: 0.6, reference: 1 };
  const step = createSearchStep(net, {
    order,
    archTerm: { value: (a) => latency.expected(a.normal, a.reduce), combine: (ce, e) => architectureLoss(ce, e, objective) },
  });
  const [train, val] = [batch(1), batch(2)];
  const lr = 0.025;
  // The gradient the α step applies, read out to compare backends (Adam's first step only keeps its sign).
  const { grads, loss } = step.archGradients(train, val, lr);
  const archGrads = [net.alphas.normal, net.alphas.reduce].map((a) => grads[a.name].dataSync() as Float32Array);
  tf.dispose(Object.values(grads));
  const r = step.step(train, val, lr);
  expect(r.archLoss).toBeCloseTo(loss, 5);
  const archLoss = r.archLoss!;
  const weightLoss = r.loss;
  const weights = net.weights.map((w) => w.dataSync() as Float32Array);
  step.dispose();
  model.dispose();
  net.dispose();
  tf.dispose([train.x, train.y, val.x, val.y]);
  return { archGrads, archLoss, weightLoss, weights };
}

const relative = (a: Float32Array, b: Float32Array) => {
  let diff = 0, scale = 1e-12;
  a.forEach((v, i) => ((diff = Math.max(diff, Math.abs(v - b[i]))), (scale = Math.max(scale, Math.abs(b[i])))));
  return diff / scale;
};

describe.skipIf(!tfjsNode)('the darts-search step on the tensorflow backend (tfjs-node 4.22.0 kernels, recording stand-in binding)', () => {
  let recording: RecordingTensorflow;
  beforeAll(async () => {
    await initBackend({ backend: 'cpu', quiet: true });
    recording = registerRecordingTensorflow(tfjsNode!, { gpu: true });
  });

  test.each(['first', 'second'] as const)('%s order: no kernel throws, TensorFlow is asked for SAME/VALID only, and the step equals the cpu backend’s', async (order) => {
    const want = await searchStep('cpu', order);
    recording.clear();
    const got = await searchStep('tensorflow', order);
    const listing = recording.listing();
    const file = await writeListing(`darts-search-${order}-order`, listing);
    console.log(`TensorFlow ops and attributes the ${order}-order search step requested (also in ${file}):\n${listing.join('\n')}`);
    expect(nonPortableRequests(listing)).toEqual([]);
    for (const op of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'MaxPoolGrad', 'AvgPoolGrad', 'SpaceToBatchND', 'BatchMatMulV2']) {
      expect(listing.some((l) => l.startsWith(`${op} `)), op).toBe(true);
    }
    expect(got.archLoss).toBeCloseTo(want.archLoss, 5);
    expect(got.weightLoss).toBeCloseTo(want.weightLoss, 5);
    got.archGrads.forEach((g, i) => expect(relative(g, want.archGrads[i]), `α gradient ${i}`).toBeLessThan(1e-3));
    got.weights.forEach((w, i) => expect(relative(w, want.weights[i]), `weight ${i}`).toBeLessThan(1e-5));
  });
});
