import * as tf from '@tensorflow/tfjs';
import { decodeSafetensors, encodeSafetensors } from '@lenna/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  cellShapes,
  countMacs,
  countParams,
  createSearchNetwork,
  DARTS_OPS,
  loadState,
  saveAlphas,
  saveState,
  type SearchNetworkConfig,
} from '../src/index.js';
import { useCpu, values } from './setup.js';

beforeAll(useCpu);

const tiny: SearchNetworkConfig = { C: 2, layers: 3, nodes: 2, numClasses: 3, inputChannels: 3, inputSize: 8, seed: 11 };

describe('cellShapes', () => {
  it('places reductions at layers/3 and 2·layers/3, doubling channels and halving the size', () => {
    const shapes = cellShapes({ C: 8, layers: 5, inputSize: 28, batch: 32 });
    expect(shapes.map((s) => s.reduction)).toEqual([false, true, false, true, false]);
    expect(shapes.map((s) => s.reductionPrev)).toEqual([false, false, true, false, true]);
    expect(shapes.map((s) => s.c)).toEqual([8, 16, 16, 32, 32]);
    expect(shapes.map((s) => s.hw)).toEqual([28, 28, 14, 14, 7]);
    expect(shapes.map((s) => [s.cPrevPrev, s.cPrev])).toEqual([[24, 24], [24, 32], [32, 64], [64, 64], [64, 128]]);
    expect(shapes.every((s) => s.batch === 32)).toBe(true);
  });

  it('names the odd size that a reduction cannot halve', () => {
    expect(() => cellShapes({ C: 8, layers: 8, inputSize: 14 })).toThrow(/odd size 7/);
  });
});

describe('search network', () => {
  it('gives logits [N, classes] and α of shape [edges, ops], kept apart from the weights', () => {
    const net = createSearchNetwork(tiny);
    const y = net.forward(tf.zeros([2, 8, 8, 3]), { training: true });
    expect(y.shape).toEqual([2, 3]);
    expect(net.alphas.normal.shape).toEqual([5, 8]);
    expect(net.alphas.reduce.shape).toEqual([5, 8]);
    expect(net.weights).not.toContain(net.alphas.normal);
    expect(net.weights.every((v) => v.trainable)).toBe(true);
    const a = values(net.alphas.normal);
    expect(Math.max(...a.map(Math.abs))).toBeLessThan(1e-2);
    expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(0);
    net.dispose();
  });

  it('takes any op subset and node count', () => {
    const net = createSearchNetwork({ ...tiny, nodes: 3, ops: ['skip_connect', 'avg_pool_3x3'] });
    expect(net.alphas.normal.shape).toEqual([9, 2]);
    expect(net.forward(tf.zeros([1, 8, 8, 3]), { training: false }).shape).toEqual([1, 3]);
    expect(net.genotype().normal).toHaveLength(6);
    net.dispose();
    expect(() => createSearchNetwork({ ...tiny, ops: ['none'] })).toThrow(/other than none/);
    expect(() => createSearchNetwork({ ...tiny, ops: ['conv_9x9' as never] })).toThrow(/conv_9x9/);
  });

  it('is seeded: the same seed gives identical weights and α, another seed differs', () => {
    const [a, b, c] = [11, 11, 12].map((seed) => createSearchNetwork({ ...tiny, seed }));
    const [sa, sb, sc] = [a, b, c].map((n) => saveState(n));
    expect(Object.keys(sa)).toEqual(Object.keys(sb));
    for (const k of Object.keys(sa)) expect(Array.from(sb[k].data as Float32Array), k).toEqual(Array.from(sa[k].data as Float32Array));
    expect(Array.from(sc['cells.0.pre0.conv.weight'].data as Float32Array)).not.toEqual(Array.from(sa['cells.0.pre0.conv.weight'].data as Float32Array));
    expect(Array.from(sc.alphas_normal.data as Float32Array)).not.toEqual(Array.from(sa.alphas_normal.data as Float32Array));
    [a, b, c].forEach((n) => n.dispose());
  });

  it('saves under stable names and loads back into a network built from another seed', () => {
    const a = createSearchNetwork(tiny);
    const state = saveState(a);
    expect(Object.keys(state)).toContain('cells.1.edges.4.ops.sep_conv_3x3.dw1.weight');
    expect(Object.keys(state)).toContain('cells.2.pre0.conv1.weight');
    expect(Object.keys(state)).toContain('cells.0.edges.0.ops.max_pool_3x3.bn.running_var');
    expect(Object.keys(state)).toContain('stem.bn.weight');
    expect(Object.keys(state)).toContain('classifier.bias');
    expect(Object.keys(saveAlphas(a))).toEqual(['alphas_normal', 'alphas_reduce']);
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const b = createSearchNetwork({ ...tiny, seed: 99 });
    loadState(b, decodeSafetensors(encodeSafetensors(state)).tensors, { where: 'weights.safetensors' });
    expect(values(b.forward(x, { training: false }))).toEqual(values(a.forward(x, { training: false })));
    a.dispose();
    b.dispose();
  });

  it('refuses a saved state from another network, naming the tensor', () => {
    const a = createSearchNetwork(tiny);
    const other = saveState(createSearchNetwork({ ...tiny, C: 4 }));
    expect(() => loadState(a, other, { where: 'w.safetensors' })).toThrow(/w\.safetensors: tensor "stem\.conv\.weight" has shape/);
    const partial = saveState(a);
    delete partial.alphas_reduce;
    expect(() => loadState(a, partial)).toThrow(/no tensor "alphas_reduce"/);
  });
});

describe('search network counts', () => {
  // One cell (a reduction cell, since layers/3 = 0), one node, ops max_pool and skip_connect,
  // C 2, 3 input channels, 8×8 input, 10 classes.
  const oneCell: SearchNetworkConfig = { C: 2, layers: 1, nodes: 1, ops: ['max_pool_3x3', 'skip_connect'], numClasses: 10, inputChannels: 3, inputSize: 8, seed: 1 };

  it('counts parameters by hand', () => {
    const net = createSearchNetwork(oneCell);
    // stem conv 3·3·3·6 = 162, stem BN (affine) 12; cell c = 4: pre0, pre1 1×1 6→4 = 24 each;
    // each of 2 edges: factorized reduce 2·(4·2) = 16, max_pool + non-affine BN 0;
    // classifier 4·10 + 10 = 50.
    expect(countParams(net)).toBe(162 + 12 + 24 + 24 + 2 * 16 + 50);
  });

  it('counts multiply-accumulates by hand', () => {
    const net = createSearchNetwork(oneCell);
    // stem 9·3·6 per pixel on 64 pixels; pre0, pre1 6·4 on 64; FR two 1×1 4→2 on 4×4, per edge; classifier 40.
    expect(countMacs(net)).toBe(9 * 3 * 6 * 64 + 2 * 24 * 64 + 2 * (2 * 8 * 16) + 40);
  });

  it('counts the reference supernet as the sum over its shapes', () => {
    const net = createSearchNetwork({ C: 8, layers: 5, numClasses: 10, inputChannels: 1, inputSize: 28, seed: 0 });
    expect(net.alphas.normal.shape).toEqual([14, DARTS_OPS.length]);
    expect(countParams(net)).toBeGreaterThan(0);
    expect(countMacs(net)).toBeGreaterThan(countParams(net));
    net.dispose();
  });
});
