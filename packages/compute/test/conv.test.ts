import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { conv2d, depthwiseConv2d, originalKernel, UserError } from '../src/index.js';
import { BACKENDS, backendBuffers, initBoth, registerPortableCpu } from './setup.js';
import { convForward, convGrads, geometry, relativeError, values } from './reference.js';

beforeAll(initBoth);

type Pad = 'same' | 'valid' | number;
interface Case { kind: 'regular' | 'depthwise'; k: number; mult: number; stride: number; dilation: number; pad: Pad }

const X_SHAPE = [2, 9, 8, 3];
const CASES: Case[] = [];
for (const [kind, k, mult] of [['regular', 3, 4], ['regular', 1, 5], ['depthwise', 3, 1], ['depthwise', 5, 1], ['depthwise', 3, 2]] as const)
  for (const stride of [1, 2])
    for (const dilation of [1, 2])
      for (const pad of ['same', 'valid', 1] as Pad[])
        if (!(k === 5 && dilation === 2 && pad === 'valid')) CASES.push({ kind, k, mult, stride, dilation, pad });
// Stride and dilation both > 1 and different: the stride-1 dilated result, subsampled.
for (const kind of ['regular', 'depthwise'] as const)
  for (const pad of ['same', 'valid', 1] as Pad[]) CASES.push({ kind, k: 3, mult: 2, stride: 2, dilation: 3, pad });

const name = (c: Case) => `${c.kind} ${c.k}×${c.k}${c.mult > 1 && c.kind === 'depthwise' ? ` ×${c.mult}` : ''} stride ${c.stride} dilation ${c.dilation} pad ${c.pad}`;

/**
 * A cpu backend with tfjs's own kernels only (LENNA's replaced ones restored), as a backend LENNA does
 * not serve (tfjs-node, webgl) would be: dilation takes the space-to-batch path there.
 */
function registerPlainCpu(): void {
  if (tf.findBackendFactory('plain-cpu')) return;
  const factory = tf.findBackendFactory('cpu');
  if (!factory) throw new Error('no cpu backend');
  tf.registerBackend('plain-cpu', factory);
  for (const kernel of tf.getKernelsForBackend('cpu')) {
    tf.registerKernel({ ...(originalKernel(kernel.kernelName, 'cpu') ?? kernel), backendName: 'plain-cpu' });
  }
}

async function checkCase(backend: string, c: Case): Promise<void> {
  await tf.setBackend(backend);
  const fShape = [c.k, c.k, X_SHAPE[3], c.mult];
  const g = geometry(X_SHAPE, fShape, c.stride, c.dilation, c.pad, c.kind === 'depthwise');
  const xv = values(X_SHAPE.reduce((a, b) => a * b), 1), fv = values(fShape.reduce((a, b) => a * b), 2);
  const dyv = values(g.n * g.oh * g.ow * g.outC, 3);
  const op = c.kind === 'regular' ? conv2d : depthwiseConv2d;
  const opts = { stride: c.stride, dilation: c.dilation, pad: c.pad };
  const x = tf.tensor4d(xv, X_SHAPE as [number, number, number, number]);
  const f = tf.tensor4d(fv, fShape as [number, number, number, number]);
  const dy = tf.tensor4d(dyv, [g.n, g.oh, g.ow, g.outC]);
  const y = op(x, f, opts);
  const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a as tf.Tensor4D, b as tf.Tensor4D, opts), dy)))([x, f]);
  const want = convGrads(g, xv, fv, dyv);
  expect(y.shape).toEqual([g.n, g.oh, g.ow, g.outC]);
  expect(relativeError(y.dataSync(), convForward(g, xv, fv))).toBeLessThan(1e-4);
  expect(relativeError(dx.dataSync(), want.dx)).toBeLessThan(1e-4);
  expect(relativeError(df.dataSync(), want.df)).toBeLessThan(1e-4);
  tf.dispose([x, f, dy, y, dx, df]);
}

describe.each(BACKENDS)('on %s', (backend) => {
  test.each(CASES.map((c) => [name(c), c] as const))('%s: forward and both gradients match the naive loops', async (_n, c) => {
    await checkCase(backend, c);
  });

  test('leaves no tensors or backend buffers behind', async () => {
    await tf.setBackend(backend);
    const x = tf.ones([1, 8, 8, 2]) as tf.Tensor4D, f = tf.ones([3, 3, 2, 1]) as tf.Tensor4D, w = tf.ones([3, 3, 2, 2]) as tf.Tensor4D;
    const tensors = tf.memory().numTensors, buffers = backendBuffers();
    for (const dilation of [1, 2])
      for (const stride of [1, 2]) {
        const opts = { stride, dilation, pad: 'same' as const };
        tf.dispose(tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, opts)))([x, f]));
        tf.dispose(tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, opts)))([x, w]));
      }
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backendBuffers()).toBe(buffers);
    tf.dispose([x, f, w]);
  });
});

describe('on a backend LENNA does not serve (tfjs’s own cpu kernels)', () => {
  const dilated = CASES.filter((c) => c.dilation > 1 && c.k === 3);
  test.each(dilated.map((c) => [name(c), c] as const))('%s: forward and both gradients match the naive loops', async (_n, c) => {
    registerPlainCpu();
    await checkCase('plain-cpu', c);
  });
});

test.each(BACKENDS)('on %s an undilated convolution runs the kernels tfjs’s op with explicit padding runs, and nothing else', async (backend) => {
  await tf.setBackend(backend);
  const x = tf.ones([2, 8, 8, 4]) as tf.Tensor4D, w = tf.ones([3, 3, 4, 4]) as tf.Tensor4D;
  const kernels = async (f: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor) =>
    (await tf.profile(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(f(a as tf.Tensor4D, b as tf.Tensor4D)))([x, w]))).kernelNames;
  for (const stride of [1, 2]) {
    expect(await kernels((a, b) => conv2d(a, b, { stride, pad: 1 }))).toEqual(await kernels((a, b) => tf.conv2d(a, b, stride, [[0, 0], [1, 1], [1, 1], [0, 0]])));
  }
  tf.dispose([x, w]);
});

describe('in the portable forms (as on TensorFlow’s native backends), over cpu’s kernels', () => {
  test.each(CASES.map((c) => [name(c), c] as const))('%s: forward and both gradients match the naive loops', async (_n, c) => {
    await checkCase(registerPortableCpu(), c);
  });

  test('pads by hand only where SAME would read other pixels: strided symmetric padding', async () => {
    await tf.setBackend(registerPortableCpu());
    const x = tf.ones([1, 8, 8, 2]) as tf.Tensor4D, f = tf.ones([3, 3, 2, 2]) as tf.Tensor4D;
    const kernelsOf = async (stride: number, pad: number) =>
      (await tf.profile(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { stride, pad })))([x, f]))).kernelNames;
    expect(await kernelsOf(1, 1)).not.toContain('PadV2');
    expect(await kernelsOf(1, 0)).not.toContain('PadV2');
    expect(await kernelsOf(2, 1)).toContain('PadV2');
    tf.dispose([x, f]);
  });
});

test('options a user can get wrong are UserErrors that name the option', () => {
  const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D, f = tf.zeros([3, 3, 1, 1]) as tf.Tensor4D;
  expect(() => conv2d(x, f, { stride: 0, pad: 'same' })).toThrow(UserError);
  expect(() => conv2d(x, f, { dilation: 1.5, pad: 'same' })).toThrow(/dilation=1.5/);
  expect(() => conv2d(x, f, { pad: -1 })).toThrow(/pad=-1/);
  expect(() => depthwiseConv2d(x, f, { dilation: 3, pad: 'valid' })).toThrow(/does not fit/);
});
