import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { clipGradNorm, cosineLr, createAdam, createSgd } from '../src/index.js';
import { useCpu, values } from './setup.js';

beforeAll(useCpu);

describe('SGD with momentum and weight decay (PyTorch semantics)', () => {
  it('matches two steps computed by hand', () => {
    const p = tf.variable(tf.tensor1d([1, -2]));
    const sgd = createSgd([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
    sgd.step({ [p.name]: tf.tensor1d([0.5, 0.5]) });
    // d = g + wd·p = [0.51, 0.48]; buf = d; p = p − 0.1·buf = [0.949, −2.048].
    expect(values(p)[0]).toBeCloseTo(0.949, 6);
    expect(values(p)[1]).toBeCloseTo(-2.048, 6);
    sgd.step({ [p.name]: tf.tensor1d([0, 1]) }, 0.2);
    // d = [0.00949, 0.97952]; buf = 0.9·[0.51, 0.48] + d = [0.46849, 1.41152]; p −= 0.2·buf.
    expect(values(p)[0]).toBeCloseTo(0.949 - 0.2 * 0.46849, 6);
    expect(values(p)[1]).toBeCloseTo(-2.048 - 0.2 * 1.41152, 5);
  });

  it('saves and restores its momentum buffers', () => {
    const p = tf.variable(tf.tensor1d([1]));
    const a = createSgd([p], { lr: 0.1, momentum: 0.9 });
    a.step({ [p.name]: tf.tensor1d([1]) });
    const b = createSgd([p], { lr: 0.1, momentum: 0.9 });
    b.loadState(a.state());
    const q = values(p)[0];
    b.step({ [p.name]: tf.tensor1d([0]) });
    expect(values(p)[0]).toBeCloseTo(q - 0.1 * 0.9, 6);
  });
});

describe('Adam with L2 weight decay', () => {
  it('matches two steps computed by hand', () => {
    const p = tf.variable(tf.tensor1d([1]));
    const adam = createAdam([p], { lr: 3e-4, beta1: 0.5, beta2: 0.999, weightDecay: 1e-3 });
    const ref = { p: 1, m: 0, v: 0 };
    for (const [t, g0] of [[1, 0.2], [2, -0.4]]) {
      adam.step({ [p.name]: tf.tensor1d([g0]) });
      const g = g0 + 1e-3 * ref.p;
      ref.m = 0.5 * ref.m + 0.5 * g;
      ref.v = 0.999 * ref.v + 0.001 * g * g;
      ref.p -= (3e-4 * (ref.m / (1 - 0.5 ** t))) / (Math.sqrt(ref.v / (1 - 0.999 ** t)) + 1e-8);
      expect(values(p)[0]).toBeCloseTo(ref.p, 6);
    }
    // The first Adam step moves by about lr whatever the gradient's size.
    expect(1 - ref.p).toBeLessThan(1e-3);
  });
});

describe('gradient clipping and cosine schedule', () => {
  it('scales all gradients by maxNorm/norm when the global norm is larger', () => {
    const grads = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([4]) };
    const { grads: out, norm } = clipGradNorm(grads, 1);
    expect(norm).toBeCloseTo(5, 5);
    expect(values(out.a)[0]).toBeCloseTo(0.6, 5);
    expect(values(out.b)[0]).toBeCloseTo(0.8, 5);
    const small = clipGradNorm(grads, 10);
    expect(values(small.grads.b)).toEqual([4]);
  });

  it('follows CosineAnnealingLR', () => {
    expect(cosineLr(0.025, 0.001, 0, 50)).toBeCloseTo(0.025, 12);
    expect(cosineLr(0.025, 0.001, 25, 50)).toBeCloseTo(0.013, 12);
    expect(cosineLr(0.025, 0.001, 50, 50)).toBeCloseTo(0.001, 12);
  });
});
