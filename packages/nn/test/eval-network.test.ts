import * as tf from '@tensorflow/tfjs';
import { createRng, type Rng } from '@lenna/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  countMacs,
  countParams,
  createEvalNetwork,
  createSearchNetwork,
  crossEntropy,
  dropPath,
  dropPathRamp,
  evalCellShapes,
  loadState,
  saveState,
  type Genotype,
} from '../src/index.js';
import { DARTS_V2, maxAbs, maxAbsDiff, useCpu, values } from './setup.js';

beforeAll(useCpu);

function countingRng(seed: number): { rng: Rng; draws: () => number } {
  const inner = createRng(seed);
  let n = 0;
  return { rng: { ...inner, next: () => (n++, inner.next()) }, draws: () => n };
}

describe('parameter counts match the official DARTS code', () => {
  it('search network C 16, 8 layers, CIFAR-10: 1,930,618 parameters (train_search.py logs 1.930618 MB)', () => {
    const net = createSearchNetwork({ C: 16, layers: 8, numClasses: 10, inputChannels: 3, inputSize: 32, seed: 0 });
    expect(countParams(net)).toBe(1_930_618);
    net.dispose();
  });

  it('DARTS_V2 at C 36, 20 layers with auxiliary: 3,349,342 parameters without the head (train.py logs 3.349342 MB)', () => {
    const net = createEvalNetwork({ genotype: DARTS_V2, C: 36, layers: 20, numClasses: 10, inputChannels: 3, inputSize: 32, auxiliary: true, seed: 0 });
    expect(countParams(net)).toBe(3_349_342);
    expect(countParams(net, { includeAuxiliary: true })).toBeGreaterThan(3_349_342);
    // The multiply-adds usually quoted for DARTS (2nd order) on CIFAR-10: 528M.
    expect(Math.round(countMacs(net) / 1e6)).toBe(528);
    net.dispose();
  });
});

describe('evaluation network', () => {
  const small = { genotype: DARTS_V2, C: 4, layers: 3, numClasses: 5, inputChannels: 3, inputSize: 16, seed: 3 };

  it('returns auxiliary logits in training only', () => {
    // 32 → 16 → 8: the head attaches to an 8×8 map, as on CIFAR.
    const net = createEvalNetwork({ ...small, inputSize: 32, auxiliary: true });
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const train = net.forward(x, { training: true, dropPathProb: 0.2 });
    expect(train.logits.shape).toEqual([2, 5]);
    expect(train.logitsAux?.shape).toEqual([2, 5]);
    expect(net.forward(x, { training: false }).logitsAux).toBeUndefined();
    net.dispose();
  });

  it('drops paths on every op except identity edges, one mask draw per sample', () => {
    const net = createEvalNetwork(small);
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const counter = countingRng(1);
    net.forward(x, { training: true, dropPathProb: 0.3, rng: counter.rng });
    // Cells: normal (6 of 8 ops not identity: skip_connect from input 0 is), reduce, reduce
    // (5 max pools; skip_connect from node 2 is stride 1, so identity).
    expect(counter.draws()).toBe(2 * (6 + 5 + 5));
    const none = countingRng(1);
    net.forward(x, { training: false, dropPathProb: 0.3, rng: none.rng });
    expect(none.draws()).toBe(0);
  });

  it('uses cell shapes with the concat length of each cell type', () => {
    const g: Genotype = { ...DARTS_V2, reduce_concat: [4, 5] };
    // Reductions at cells 1 and 2; cell 3 reads cell 2's 2 nodes of 16 channels.
    const shapes = evalCellShapes({ genotype: g, C: 4, layers: 4, inputSize: 16 });
    expect(shapes.map((s) => s.cPrev)).toEqual([12, 16, 16, 32]);
    const net = createEvalNetwork({ ...small, layers: 4, genotype: g });
    expect(net.forward(tf.zeros([1, 16, 16, 3]), { training: false }).logits.shape).toEqual([1, 5]);
  });

  it('counts a one-cell network by hand', () => {
    // layers 1: the only cell is a reduction cell. c = 4, stem 3·3·3·6 + affine BN 12;
    // pre0, pre1: 1×1 6→4 (24) + affine BN (8); skip_connect at stride 2: FR 16 + BN 8; max pool 0;
    // classifier: concat [2] → 4·10 + 10.
    const g: Genotype = { normal: [['skip_connect', 0], ['max_pool_3x3', 1]], normal_concat: [2], reduce: [['skip_connect', 0], ['max_pool_3x3', 1]], reduce_concat: [2] };
    const net = createEvalNetwork({ genotype: g, C: 2, layers: 1, numClasses: 10, inputChannels: 3, inputSize: 8, seed: 0 });
    expect(countParams(net)).toBe(162 + 12 + 2 * 32 + 24 + 50);
    expect(countMacs(net)).toBe(9 * 3 * 6 * 64 + 2 * 24 * 64 + 2 * 8 * 16 + 40);
  });

  it('is seeded and saves/loads its weights', () => {
    const a = createEvalNetwork(small);
    const b = createEvalNetwork({ ...small, seed: 4 });
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    expect(values(createEvalNetwork(small).forward(x, { training: false }).logits)).toEqual(values(a.forward(x, { training: false }).logits));
    loadState(b, saveState(a));
    expect(values(b.forward(x, { training: false }).logits)).toEqual(values(a.forward(x, { training: false }).logits));
  });

  it('cell-by-cell gradients (drop path, auxiliary head) equal tfjs autodiff of the whole forward pass', () => {
    const config = { ...small, inputSize: 32, auxiliary: true };
    const [a, b] = [createEvalNetwork(config), createEvalNetwork(config)];
    const x = tf.randomNormal([3, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const y = tf.tensor1d([0, 4, 2], 'int32');
    const lossOf = (logits: tf.Tensor2D, aux?: tf.Tensor2D) => tf.add(crossEntropy(logits, y), tf.mul(crossEntropy(aux!, y), 0.4)) as tf.Scalar;
    const whole = tf.variableGrads(() => {
      const out = a.forward(x, { training: true, dropPathProb: 0.3, rng: createRng(5) });
      return lossOf(out.logits, out.logitsAux);
    }, a.weights);
    const seg = b.gradients(x, lossOf, { dropPathProb: 0.3, rng: createRng(5) });
    expect(seg.loss).toBeCloseTo(whole.value.dataSync()[0], 5);
    expect(Object.keys(seg.grads)).toHaveLength(a.weights.length);
    a.weights.forEach((va, i) => {
      const ga = values(whole.grads[va.name]);
      const gb = values(seg.grads[b.weights[i].name]);
      expect(maxAbsDiff(ga, gb) / Math.max(1e-6, maxAbs(ga)), `weight ${i}`).toBeLessThan(1e-3);
    });
  });

  it('rejects an auxiliary head where the map is too small', () => {
    expect(() => createEvalNetwork({ ...small, inputSize: 8, auxiliary: true })).toThrow(/auxiliary/);
  });
});

describe('drop path', () => {
  it('zeroes whole samples and scales the kept ones by 1/(1-p)', () => {
    const x = tf.ones([64, 2, 2, 1]) as tf.Tensor4D;
    const y = values(dropPath(x, 0.25, createRng(5)));
    const kept = y.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
    for (let i = 0; i < 64; i++) expect(new Set(y.slice(4 * i, 4 * i + 4)).size).toBe(1);
    expect(kept.length / 4).toBeGreaterThan(32);
    expect(kept.length / 4).toBeLessThan(64);
  });

  it('ramps linearly', () => {
    expect(dropPathRamp(0.2, 0, 50)).toBe(0);
    expect(dropPathRamp(0.2, 25, 50)).toBeCloseTo(0.1, 12);
  });
});
