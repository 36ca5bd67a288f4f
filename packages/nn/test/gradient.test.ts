import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSearchNetwork, createSearchStep, crossEntropy, saveAlphas, tapedTailCells } from '../src/index.js';
import { maxAbsDiff, useCpu, values } from './setup.js';

beforeAll(useCpu);

// A tiny supernet: C 2, 3 cells (a normal cell, then reductions at layers/3 = 1 and 2·layers/3 = 2), 2 nodes, all 8 ops.
const config = { C: 2, layers: 3, nodes: 2, numClasses: 3, inputChannels: 3, inputSize: 8, seed: 21 };

describe('∂loss/∂α', () => {
  it('agrees with central finite differences (float32: step 1e-2, relative tolerance 1e-2)', () => {
    const net = createSearchNetwork(config);
    // Larger α than the 1e-3 init, so that the mixed-op weights differ and the gradient is not tiny.
    net.alphas.normal.assign(tf.randomNormal(net.alphas.normal.shape, 0, 1, 'float32', 3));
    net.alphas.reduce.assign(tf.randomNormal(net.alphas.reduce.shape, 0, 1, 'float32', 4));
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 1], 'int32');
    const loss = () => crossEntropy(net.forward(x, { training: false }), y);
    const { grads } = tf.variableGrads(loss, [net.alphas.normal, net.alphas.reduce]);
    const analytic = { normal: values(grads[net.alphas.normal.name]), reduce: values(grads[net.alphas.reduce.name]) };
    const h = 1e-2;
    const checks: [keyof typeof analytic, number][] = [['normal', 4], ['normal', 13], ['normal', 30], ['reduce', 6], ['reduce', 21], ['reduce', 39]];
    const scale = Math.max(...[...analytic.normal, ...analytic.reduce].map(Math.abs));
    expect(scale).toBeGreaterThan(1e-4);
    for (const [part, i] of checks) {
      const v = net.alphas[part];
      const base = values(v);
      const at = (delta: number) => {
        const a = base.slice();
        a[i] += delta;
        v.assign(tf.tensor(a, v.shape));
        return tf.tidy(() => loss().dataSync()[0]);
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      v.assign(tf.tensor(base, v.shape));
      expect(Math.abs(fd - analytic[part][i]), `${part}[${i}] fd ${fd} analytic ${analytic[part][i]}`).toBeLessThan(1e-2 * scale + 1e-2 * Math.abs(fd));
    }
    net.dispose();
  });

  // Budget 0 recomputes every cell; 3e5 bytes tapes the last (reduction) cell only at this size; the default tapes all.
  const budgets: [string, number | undefined][] = [['every cell recomputed', 0], ['last cell taped', 3e5], ['all cells taped', undefined]];
  it('the tape budget picks the trailing cells that fit', () => {
    const net = createSearchNetwork(config);
    expect(tapedTailCells(net.shapes, 4, 5, 0)).toBe(0);
    expect(tapedTailCells(net.shapes, 4, 5, 3e5)).toBe(1);
    expect(tapedTailCells(net.shapes, 4, 5, 9e5)).toBe(2);
    expect(tapedTailCells(net.shapes, 4, 5, 1e9)).toBe(3);
    net.dispose();
  });
  for (const [label, budget] of budgets) it(`cell-by-cell gradients (${label}) equal tfjs autodiff of the whole training-mode forward pass, and update BN statistics once`, () => {
    const [a, b] = [createSearchNetwork(config), createSearchNetwork(config)];
    for (const net of [a, b]) net.alphas.reduce.assign(tf.randomNormal(net.alphas.reduce.shape, 0, 1, 'float32', 4));
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 1], 'int32');
    const whole = tf.variableGrads(() => crossEntropy(a.forward(x, { training: true }), y), [...a.weights, a.alphas.normal, a.alphas.reduce]);
    const seg = b.gradients(x, (logits) => crossEntropy(logits, y), { weights: true, alphas: true, tapeBudgetBytes: budget });
    expect(seg.loss).toBeCloseTo(whole.value.dataSync()[0], 5);
    const pairs: [tf.Variable, tf.Variable][] = [...a.weights.map((v, i) => [v, b.weights[i]] as [tf.Variable, tf.Variable]), [a.alphas.normal, b.alphas.normal], [a.alphas.reduce, b.alphas.reduce]];
    expect(Object.keys(seg.grads)).toHaveLength(pairs.length);
    for (const [va, vb] of pairs) {
      const ga = values(whole.grads[va.name]);
      const gb = values(seg.grads[vb.name]);
      const scale = Math.max(1e-6, ...ga.map(Math.abs));
      expect(maxAbsDiff(ga, gb) / scale).toBeLessThan(1e-3);
    }
    const rv = (n: typeof a) => values(n.store.buffers.get('cells.1.edges.0.ops.max_pool_3x3.bn.running_mean')!);
    expect(maxAbsDiff(rv(a), rv(b))).toBeLessThan(1e-6);
    expect(Math.max(...rv(a).map(Math.abs))).toBeGreaterThan(0);
    const onlyAlphas = b.gradients(x, (logits) => crossEntropy(logits, y), { alphas: true, tapeBudgetBytes: budget });
    expect(Object.keys(onlyAlphas.grads).sort()).toEqual([b.alphas.normal.name, b.alphas.reduce.name].sort());
  });

  it('a first-order search step moves α and the weights and lowers the training loss on a repeated batch', () => {
    // Fewer ops keep this fast on the cpu backend.
    const net = createSearchNetwork({ ...config, ops: ['none', 'max_pool_3x3', 'skip_connect', 'sep_conv_3x3'] });
    const search = createSearchStep(net, { weightLr: 0.05 });
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const batch = { x, y: tf.tensor1d([0, 1, 2, 1], 'int32') };
    const alphas0 = values(net.alphas.normal);
    const w0 = values(net.weights[0]);
    const first = search.step(batch, batch);
    let last = first;
    for (let i = 0; i < 3; i++) last = search.step(batch, batch);
    expect(values(net.alphas.normal)).not.toEqual(alphas0);
    expect(values(net.weights[0])).not.toEqual(w0);
    expect(last.loss).toBeLessThan(first.loss);
    expect(Object.keys(saveAlphas(net))).toEqual(['alphas_normal', 'alphas_reduce']);
    const before = tf.memory().numTensors;
    search.step(batch, batch);
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });
});
