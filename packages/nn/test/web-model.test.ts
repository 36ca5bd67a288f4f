import * as tf from '@tensorflow/tfjs';
import { createRng } from '@lenna/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEvalNetwork, exportWebModel, webModelArtifacts, WEB_MODEL_WEIGHTS, type EvalNetwork, type Genotype } from '../src/index.js';
import { maxAbs, maxAbsDiff, useCpu, values } from './setup.js';

beforeAll(useCpu);

/** Every DARTS op but none, in both cells, reading both inputs and intermediate nodes. */
const EVERY_OP: Genotype = {
  normal: [
    ['sep_conv_3x3', 0], ['dil_conv_5x5', 1], ['max_pool_3x3', 0], ['avg_pool_3x3', 2],
    ['skip_connect', 1], ['sep_conv_5x5', 3], ['dil_conv_3x3', 2], ['skip_connect', 0],
  ],
  normal_concat: [2, 3, 4, 5],
  reduce: [
    ['avg_pool_3x3', 0], ['skip_connect', 1], ['max_pool_3x3', 1], ['dil_conv_3x3', 2],
    ['sep_conv_5x5', 0], ['dil_conv_5x5', 3], ['sep_conv_3x3', 1], ['skip_connect', 4],
  ],
  reduce_concat: [2, 3, 4, 5],
};

/** A network whose every weight and BatchNorm statistic is random, so folding them into the graph is tested for real. */
function randomisedNetwork(seed: number): EvalNetwork {
  const net = createEvalNetwork({ genotype: EVERY_OP, C: 4, layers: 3, numClasses: 5, inputChannels: 2, inputSize: 8, seed });
  const rng = createRng(seed + 1);
  for (const [name, v] of [...net.store.weights, ...net.store.buffers]) {
    const positive = name.endsWith('running_var');
    const data = Float32Array.from({ length: v.size }, () => (positive ? 0.5 + rng.next() : rng.normal()));
    v.assign(tf.tensor(data, v.shape));
  }
  return net;
}

function randomImages(n: number, seed: number): tf.Tensor4D {
  const rng = createRng(seed);
  return tf.tensor4d(Float32Array.from({ length: n * 8 * 8 * 2 }, () => rng.normal()), [n, 8, 8, 2]);
}

describe('exportWebModel', () => {
  it('gives the trained network’s inference logits at any batch size, loaded with tf.loadGraphModel', async () => {
    const net = randomisedNetwork(3);
    const model = await exportWebModel(net, { inputSize: 8, classNames: ['a', 'b', 'c', 'd', 'e'] });
    const graph = await tf.loadGraphModel(tf.io.fromMemory(webModelArtifacts(model)));
    for (const batch of [1, 5]) {
      const x = randomImages(batch, 10 + batch);
      const expected = values(net.forward(x, { training: false }).logits);
      const got = graph.predict(x) as tf.Tensor;
      expect(got.shape).toEqual([batch, 5]);
      expect(maxAbsDiff(values(got), expected)).toBeLessThan(1e-5 * Math.max(1, maxAbs(expected)));
      tf.dispose([x, got]);
    }
    expect(graph.metadata).toEqual({ inputSize: 8, classNames: ['a', 'b', 'c', 'd', 'e'] });
    graph.dispose();
    net.dispose();
  });

  it('writes GraphDef ops tfjs-converter runs, one placeholder, constants in the shard, nothing the logits do not need', async () => {
    const net = randomisedNetwork(4);
    const { modelJson, weightData } = await exportWebModel(net);
    const nodes = modelJson.modelTopology.node;
    const ops = new Set(nodes.map((n) => n.op));
    const allowed = ['Placeholder', 'Const', 'Identity', 'Conv2D', 'DepthwiseConv2dNative', 'MaxPool', 'AvgPool', 'PadV2', 'Relu', 'Mul', 'AddV2', 'ConcatV2', 'Mean', 'MatMul', 'Reshape', 'Slice', 'Cast'];
    expect([...ops].filter((op) => !allowed.includes(op))).toEqual([]);
    for (const op of ['Conv2D', 'DepthwiseConv2dNative', 'MaxPool', 'AvgPool', 'Relu', 'ConcatV2', 'Mean', 'MatMul']) expect(ops, op).toContain(op);
    expect(nodes.filter((n) => n.op === 'Placeholder').map((n) => n.name)).toEqual(['images']);
    // Every node but the output feeds another one.
    const read = new Set(nodes.flatMap((n) => n.input ?? []).map((i) => i.split(':')[0]));
    expect(nodes.filter((n) => !read.has(n.name)).map((n) => n.name)).toEqual(['logits']);
    // BatchNorm ran as a folded multiply and add: no Rsqrt left, and no running statistic stored.
    expect(ops.has('Rsqrt')).toBe(false);
    const specs = modelJson.weightsManifest[0].weights;
    expect(specs.some((w) => w.name.includes('running_'))).toBe(false);
    expect(modelJson.weightsManifest[0].paths).toEqual([WEB_MODEL_WEIGHTS]);
    expect(weightData.byteLength).toBe(specs.reduce((s, w) => s + 4 * w.shape.reduce((a, b) => a * b, 1), 0));
    expect(new Set(specs.map((w) => w.name)).size).toBe(specs.length);
    net.dispose();
  });
});
