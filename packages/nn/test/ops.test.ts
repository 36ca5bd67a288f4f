import * as tf from '@tensorflow/tfjs';
import { createRng } from '@lenna/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOp, createParamStore, DARTS_OPS, ParamBuilder } from '../src/index.js';
import { maxAbsDiff, useCpu, values } from './setup.js';

beforeAll(useCpu);

function build(name: (typeof DARTS_OPS)[number], c: number, stride: number, affine = false, poolBatchNorm = true) {
  const store = createParamStore();
  const op = createOp(new ParamBuilder(store, createRng(7), 'op'), name, { c, stride, affine, poolBatchNorm });
  return { op, store, w: (k: string) => store.weights.get(`op.${k}`)! as tf.Tensor4D };
}

function input(shape: [number, number, number, number], seed = 3): tf.Tensor4D {
  const rng = createRng(seed);
  return tf.tensor4d(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()), shape);
}

/** Batch normalisation over N, H, W with batch statistics, written independently. */
function refBatchNorm(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const v = x.dataSync();
  const out = new Float32Array(v.length);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    let s2 = 0;
    for (let i = ch; i < v.length; i += c) s += v[i];
    const mean = s / (n * h * w);
    for (let i = ch; i < v.length; i += c) s2 += (v[i] - mean) ** 2;
    const rstd = 1 / Math.sqrt(s2 / (n * h * w) + 1e-5);
    for (let i = ch; i < v.length; i += c) out[i] = (v[i] - mean) * rstd;
  }
  return tf.tensor4d(out, x.shape);
}

describe('op catalogue', () => {
  it('lists the eight DARTS ops in the official order', () => {
    expect(DARTS_OPS).toEqual(['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5']);
  });

  it('keeps the size at stride 1 and halves it at stride 2 for every op', () => {
    const x = input([2, 8, 8, 4]);
    for (const name of DARTS_OPS) {
      for (const stride of [1, 2]) {
        const { op } = build(name, 4, stride);
        const y = op.apply(x, { training: true });
        expect(y.shape, `${name} stride ${stride}`).toEqual([2, 8 / stride, 8 / stride, 4]);
        expect(op.macs(8, 8).h).toBe(8 / stride);
      }
    }
  });
});

describe('op numerics against independent references', () => {
  it('sep_conv_3x3 equals two ReLU-depthwise-pointwise-BN blocks written with tfjs kernels', () => {
    const x = input([2, 6, 6, 3]);
    const { op, w } = build('sep_conv_3x3', 3, 2);
    const block = (h: tf.Tensor4D, dw: tf.Tensor4D, pw: tf.Tensor4D, stride: number) =>
      refBatchNorm(tf.conv2d(tf.depthwiseConv2d(tf.relu(h), dw, stride, 1), pw, 1, 0));
    const ref = block(block(x, w('dw1.weight'), w('pw1.weight'), 2), w('dw2.weight'), w('pw2.weight'), 1);
    expect(maxAbsDiff(values(op.apply(x, { training: true })), values(ref))).toBeLessThan(1e-4);
  });

  it('dil_conv_3x3 at stride 1 matches tfjs dilated depthwise convolution', () => {
    const x = input([1, 7, 7, 2]);
    const { op, w } = build('dil_conv_3x3', 2, 1);
    const ref = refBatchNorm(tf.conv2d(tf.depthwiseConv2d(tf.relu(x), w('dw.weight'), 1, 2, 'NHWC', 2), w('pw.weight'), 1, 0));
    expect(maxAbsDiff(values(op.apply(x, { training: true })), values(ref))).toBeLessThan(1e-4);
  });

  it('factorized reduce concatenates a conv of x and of x shifted by a pixel', () => {
    const x = input([1, 4, 4, 2]);
    const { op, w } = build('skip_connect', 2, 2);
    const r = tf.relu(x);
    const a = tf.conv2d(r, w('conv1.weight'), 2, 'valid');
    const b = tf.conv2d(tf.slice(r, [0, 1, 1, 0], [1, 3, 3, 2]), w('conv2.weight'), 2, 'valid');
    const ref = refBatchNorm(tf.concat([a, b], 3));
    expect(maxAbsDiff(values(op.apply(x, { training: true })), values(ref))).toBeLessThan(1e-4);
  });

  it('average pooling counts only real pixels (count_include_pad=False)', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const { op } = build('avg_pool_3x3', 1, 1, false, false);
    // Corner (0,0) averages 1,2,4,5; centre averages all nine; edge (0,1) averages 1..6.
    const y = values(op.apply(x, { training: false }));
    expect(y[0]).toBeCloseTo(3, 5);
    expect(y[1]).toBeCloseTo(3.5, 5);
    expect(y[4]).toBeCloseTo(5, 5);
  });

  it('max pooling at stride 2 uses windows centred on even pixels (padding 1 each side)', () => {
    const x = tf.tensor4d(Array.from({ length: 16 }, (_, i) => i), [1, 4, 4, 1]);
    const { op } = build('max_pool_3x3', 1, 2, false, false);
    // Windows rows/cols {-1,0,1} and {1,2,3}: maxima 5, 7, 13, 15.
    expect(values(op.apply(x, { training: false }))).toEqual([5, 7, 13, 15]);
  });

  it('none is zero at the strided size and skip_connect at stride 1 is the identity', () => {
    const x = input([1, 5, 5, 2]);
    expect(values(build('none', 2, 2).op.apply(x, { training: true }))).toEqual(new Array(18).fill(0));
    expect(build('skip_connect', 2, 1).op.apply(x, { training: true })).toBe(x);
  });

  it('search BatchNorm uses batch statistics in training and running statistics (momentum 0.1, unbiased) in eval', () => {
    const x = input([2, 3, 3, 1]);
    const { op, store } = build('max_pool_3x3', 1, 1);
    const pooled = tf.maxPool(x, 3, 1, 1);
    expect(maxAbsDiff(values(op.apply(x, { training: true })), values(refBatchNorm(pooled)))).toBeLessThan(1e-4);
    const p = values(pooled);
    const mean = p.reduce((a, b) => a + b) / p.length;
    const unbiased = p.reduce((a, b) => a + (b - mean) ** 2, 0) / (p.length - 1);
    expect(values(store.buffers.get('op.bn.running_mean')!)[0]).toBeCloseTo(0.1 * mean, 5);
    expect(values(store.buffers.get('op.bn.running_var')!)[0]).toBeCloseTo(0.9 + 0.1 * unbiased, 5);
    const evalOut = values(op.apply(x, { training: false }));
    const rm = 0.1 * mean;
    const rv = 0.9 + 0.1 * unbiased;
    expect(evalOut[0]).toBeCloseTo((p[0] - rm) / Math.sqrt(rv + 1e-5), 4);
    expect(store.weights.size).toBe(0);
  });

  it('evaluation ops have affine BatchNorm and pools have none', () => {
    expect([...build('sep_conv_3x3', 2, 1, true, false).store.weights.keys()]).toEqual([
      'op.dw1.weight', 'op.pw1.weight', 'op.bn1.weight', 'op.bn1.bias', 'op.dw2.weight', 'op.pw2.weight', 'op.bn2.weight', 'op.bn2.bias',
    ]);
    expect(build('avg_pool_3x3', 2, 1, true, false).store.buffers.size).toBe(0);
  });
});

describe('op counts', () => {
  it('sep_conv_3x3 alone: parameters and multiply-accumulates by hand', () => {
    const { op, store } = build('sep_conv_3x3', 4, 1);
    let params = 0;
    for (const v of store.weights.values()) params += v.size;
    // dw 3·3·4 = 36, pw 4·4 = 16, twice.
    expect(params).toBe(104);
    // On 8×8: dw 36·64 + pw 16·64, twice.
    expect(op.macs(8, 8).macs).toBe(2 * (36 * 64 + 16 * 64));
    // At stride 2 the first block runs at 4×4 output, the second too.
    expect(build('sep_conv_3x3', 4, 2).op.macs(8, 8).macs).toBe(2 * (36 * 16 + 16 * 16));
  });

  it('dil_conv_5x5 and factorized reduce by hand', () => {
    expect(build('dil_conv_5x5', 4, 1).op.macs(8, 8).macs).toBe(25 * 4 * 64 + 16 * 64);
    // Two 1×1 convs 4→2 at stride 2: each 4·2 MACs on a 4×4 output.
    expect(build('skip_connect', 4, 2).op.macs(8, 8).macs).toBe(2 * 8 * 16);
  });
});
