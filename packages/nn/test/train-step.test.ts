import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  clipGradNorm,
  countCorrect,
  createAdam,
  createEvalNetwork,
  createEvalStep,
  createSearchNetwork,
  createSearchStep,
  createSgd,
  crossEntropy,
  NonFiniteError,
  unrolledArchGrads,
  type ArchTerm,
  type EvalNetwork,
  type SearchNetwork,
} from '../src/index.js';
import { applyUpdate, WEIGHT_UPDATE } from '../src/train-step.js';
import { DARTS_V2, maxAbs, maxAbsDiff, useCpu, values } from './setup.js';

beforeAll(useCpu);

const searchConfig = { C: 2, layers: 3, nodes: 2, numClasses: 3, inputChannels: 3, inputSize: 8, seed: 21 };
const opt = { weightLr: 0.1, momentum: 0.9, weightDecay: 3e-4, gradClip: 0.5, alphaLr: 0.01, alphaBeta1: 0.5, alphaBeta2: 0.999, alphaWeightDecay: 1e-3 };

/** A latency-like term: Σ softmax(α)·cost + 1, joined multiplicatively (CE · term^0.6), so ∂/∂CE depends on the term. */
function termFor(net: SearchNetwork): ArchTerm {
  const costs = (v: tf.Variable, seed: number) => tf.randomUniform(v.shape, 0, 1, 'float32', seed);
  const [cn, cr] = [costs(net.alphas.normal, 8), costs(net.alphas.reduce, 9)];
  return {
    value: (a) => tf.tidy(() => tf.addN([tf.sum(tf.mul(tf.softmax(a.normal), cn)), tf.sum(tf.mul(tf.softmax(a.reduce), cr)), tf.scalar(1)]) as tf.Scalar),
    combine: (ce, t) => tf.mul(ce, tf.pow(t, 0.6)) as tf.Scalar,
  };
}

function twinSearchNetworks(): [SearchNetwork, SearchNetwork] {
  const nets: [SearchNetwork, SearchNetwork] = [createSearchNetwork(searchConfig), createSearchNetwork(searchConfig)];
  for (const net of nets) {
    net.alphas.normal.assign(tf.randomNormal(net.alphas.normal.shape, 0, 1, 'float32', 3));
    net.alphas.reduce.assign(tf.randomNormal(net.alphas.reduce.shape, 0, 1, 'float32', 4));
  }
  return nets;
}

const batch = (seed: number, n = 4, hw = 8) => ({
  x: tf.randomNormal([n, hw, hw, 3], 0, 1, 'float32', seed) as tf.Tensor4D,
  y: tf.tensor1d(Array.from({ length: n }, (_, i) => i % 3), 'int32'),
});

/** Every variable of b (weights, BatchNorm statistics, α) against a's, relative to the size of a's change from `before`. */
function expectSameState(a: { store: { weights: Map<string, tf.Variable>; buffers: Map<string, tf.Variable> }; alphas?: { normal: tf.Variable; reduce: tf.Variable } }, b: typeof a, before: Map<string, number[]>, tol: number) {
  const named = (n: typeof a) => new Map([...n.store.weights, ...n.store.buffers, ...(n.alphas ? ([['alpha.normal', n.alphas.normal], ['alpha.reduce', n.alphas.reduce]] as const) : [])]);
  const [va, vb] = [named(a), named(b)];
  let moved = 0;
  for (const [name, v] of va) {
    const [x, y, x0] = [values(v), values(vb.get(name)!), before.get(name)!];
    const change = maxAbs(x.map((s, i) => s - x0[i]));
    if (change > 0) moved++;
    expect(maxAbsDiff(x, y), name).toBeLessThanOrEqual(tol * Math.max(change, 1e-6));
  }
  expect(moved).toBeGreaterThan(va.size / 2);
}

function snapshot(n: Parameters<typeof expectSameState>[0]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [k, v] of [...n.store.weights, ...n.store.buffers]) out.set(k, values(v));
  if (n.alphas) {
    out.set('alpha.normal', values(n.alphas.normal));
    out.set('alpha.reduce', values(n.alphas.reduce));
  }
  return out;
}

describe('the search step', () => {
  for (const budget of [0, undefined]) {
    it(`equals a DARTS iteration on tf.variableGrads over net.forward, latency-like term included, BatchNorm statistics moved once per pass (tape budget ${budget ?? 'default'})`, () => {
      const [a, b] = twinSearchNetworks();
      const [train, val] = [batch(1), batch(2)];
      const before = snapshot(a);

      // The reference: whole-network autodiff, with nn's optimisers.
      const termA = termFor(a);
      const adam = createAdam([a.alphas.normal, a.alphas.reduce], { lr: opt.alphaLr, beta1: opt.alphaBeta1, beta2: opt.alphaBeta2, weightDecay: opt.alphaWeightDecay });
      const sgd = createSgd(a.weights, { lr: opt.weightLr, momentum: opt.momentum, weightDecay: opt.weightDecay });
      const g = tf.variableGrads(() => termA.combine(crossEntropy(a.forward(val.x, { training: true }), val.y), termA.value(a.alphas)), [a.alphas.normal, a.alphas.reduce]);
      adam.step(g.grads);
      let hits = -1;
      const w = tf.variableGrads(() => {
        const logits = a.forward(train.x, { training: true });
        hits = countCorrect(logits, train.y).dataSync()[0];
        return crossEntropy(logits, train.y);
      }, a.weights);
      const clipped = clipGradNorm(w.grads, opt.gradClip);
      expect(clipped.norm).toBeGreaterThan(opt.gradClip);
      sgd.step(clipped.grads, 0.07);

      const step = createSearchStep(b, { ...opt, archTerm: termFor(b), tapeBudgetBytes: budget });
      const r = step.step(train, val, 0.07);
      expect(r.archLoss).toBeCloseTo(g.value.dataSync()[0], 5);
      expect(r.loss).toBeCloseTo(w.value.dataSync()[0], 5);
      expect(r.gradNorm).toBeCloseTo(clipped.norm, 3);
      expect(r.correct).toBe(hits);
      expectSameState(a, b, before, 1e-3);
      step.dispose();
    });
  }

  it('∂L_arch/∂α equals tf.variableGrads of CE(net.forward) combined with the term (first order)', () => {
    const [a, b] = twinSearchNetworks();
    const val = batch(2);
    const termA = termFor(a);
    const g = tf.variableGrads(() => termA.combine(crossEntropy(a.forward(val.x, { training: true }), val.y), termA.value(a.alphas)), [a.alphas.normal, a.alphas.reduce]);
    const r = createSearchStep(b, { ...opt, archTerm: termFor(b) }).archGradients(val, val);
    for (const part of ['normal', 'reduce'] as const) {
      const [ga, gb] = [values(g.grads[a.alphas[part].name]), values(r.grads[b.alphas[part].name])];
      expect(maxAbs(ga)).toBeGreaterThan(1e-4);
      expect(maxAbsDiff(ga, gb) / maxAbs(ga)).toBeLessThan(1e-3);
    }
  });

  it('second order through net.gradients equals second order through tf.variableGrads over net.forward', () => {
    const [a, b] = twinSearchNetworks();
    const [train, val] = [batch(1), batch(2)];
    const step = createSearchStep(b, { ...opt, order: 'second', archTerm: termFor(b) });
    // One iteration first, so the virtual step reads a momentum buffer.
    step.step(train, val, 0.05);
    a.store.weights.forEach((v, k) => v.assign(b.store.weights.get(k)!));
    a.store.buffers.forEach((v, k) => v.assign(b.store.buffers.get(k)!));
    a.alphas.normal.assign(b.alphas.normal);
    a.alphas.reduce.assign(b.alphas.reduce);
    const termA = termFor(a);
    const grads = (f: () => tf.Scalar, vars: tf.Variable[]) => {
      const r = tf.variableGrads(f, vars);
      const loss = r.value.dataSync()[0];
      r.value.dispose();
      return { loss, grads: r.grads };
    };
    const ceOf = (x: typeof train) => crossEntropy(a.forward(x.x, { training: true }), x.y);
    const reference = unrolledArchGrads({
      weights: a.weights,
      alphas: [a.alphas.normal, a.alphas.reduce],
      trainGradients: (wrt) => grads(() => ceOf(train), wrt === 'weights' ? a.weights : [a.alphas.normal, a.alphas.reduce]),
      archGradients: () => grads(() => termA.combine(ceOf(val), termA.value(a.alphas)), [...a.weights, a.alphas.normal, a.alphas.reduce]),
      momentumBuffer: (i) => step.weightOptimizer.momentumBuffer(i),
      momentum: opt.momentum,
      weightDecay: opt.weightDecay,
      eta: 0.05,
    });
    const r = step.archGradients(train, val, 0.05);
    expect(r.loss).toBeCloseTo(reference.loss, 5);
    for (const part of ['normal', 'reduce'] as const) {
      const [ga, gb] = [values(reference.grads[a.alphas[part].name]), values(r.grads[b.alphas[part].name])];
      expect(maxAbsDiff(ga, gb) / maxAbs(ga)).toBeLessThan(1e-2);
    }
    // BatchNorm moved the same in both: four passes each (virtual step, L_arch at w', w+, w−).
    const stat = 'stem.bn.running_mean';
    expect(maxAbsDiff(values(a.store.buffers.get(stat)!), values(b.store.buffers.get(stat)!))).toBeLessThan(1e-6);
    step.dispose();
  });

  it('skips the α step without a validation batch (warm-up) and frees every tensor of a step', () => {
    const net = createSearchNetwork({ ...searchConfig, ops: ['none', 'max_pool_3x3', 'skip_connect', 'sep_conv_3x3'] });
    const step = createSearchStep(net, { ...opt, order: 'second', archTerm: termFor(net) });
    const [train, val] = [batch(1), batch(2)];
    const alphas0 = values(net.alphas.normal);
    expect(step.step(train, undefined).archLoss).toBeNull();
    expect(values(net.alphas.normal)).toEqual(alphas0);
    step.step(train, val);
    const before = tf.memory().numTensors;
    step.step(train, val);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('the evaluation step', () => {
  for (const budget of [0, undefined]) {
    it(`equals SGD on tf.variableGrads over net.forward with the auxiliary head and drop path (tape budget ${budget ?? 'default'})`, () => {
      const config = { genotype: DARTS_V2, C: 2, layers: 3, numClasses: 3, inputChannels: 3, inputSize: 32, auxiliary: true, seed: 3 };
      const [a, b]: EvalNetwork[] = [createEvalNetwork(config), createEvalNetwork(config)];
      const data = batch(5, 3, 32);
      const before = snapshot(a);
      // Both networks draw their masks from their own, equally seeded streams.
      let hits = -1;
      const w = tf.variableGrads(() => {
        const out = a.forward(data.x, { training: true, dropPathProb: 0.3 });
        hits = countCorrect(out.logits, data.y).dataSync()[0];
        return tf.add(crossEntropy(out.logits, data.y), tf.mul(crossEntropy(out.logitsAux!, data.y), 0.4)) as tf.Scalar;
      }, a.weights);
      const sgd = createSgd(a.weights, { lr: 0.05, momentum: 0.9, weightDecay: 3e-4 });
      const clipped = clipGradNorm(w.grads, 1);
      sgd.step(clipped.grads);
      const step = createEvalStep(b, { lr: 0.05, momentum: 0.9, weightDecay: 3e-4, gradClip: 1, auxiliaryWeight: 0.4, tapeBudgetBytes: budget });
      const r = step.step(data, { dropPathProb: 0.3 });
      expect(r.loss).toBeCloseTo(w.value.dataSync()[0], 5);
      expect(r.gradNorm).toBeCloseTo(clipped.norm, 3);
      expect(r.correct).toBe(hits);
      expect(b.dropPathRng.getState()).toEqual(a.dropPathRng.getState());
      expectSameState(a, b, before, 1e-3);
      step.dispose();
    });
  }
});

describe('applyUpdate', () => {
  it('refuses a NaN loss or gradient norm before anything moves', () => {
    const p = tf.variable(tf.tensor1d([1, 2]));
    const sgd = createSgd([p], { lr: 0.1, momentum: 0.9 });
    const update = (loss: number, g: number[]) => () => applyUpdate(sgd, { loss, grads: { [p.name]: tf.tensor1d(g) } }, { gradClip: 5, names: WEIGHT_UPDATE });
    expect(update(Number.NaN, [1, 1])).toThrow(new NonFiniteError('training loss'));
    expect(update(0.5, [Number.POSITIVE_INFINITY, 1])).toThrow(/weight gradient is not finite/);
    expect(values(p)).toEqual([1, 2]);
    expect(sgd.momentumBuffer(0)).toBeUndefined();
    expect(update(0.5, [3, 4])()).toBeCloseTo(5, 5);
    expect(values(p)[0]).toBeCloseTo(1 - 0.1 * 3, 6);
  });
});
