import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, test } from 'vitest';
import { factorizedReduce } from '../src/index.js';
import { convForward, convGrads, geometry, relativeError, values } from './reference.js';
import { BACKENDS, initBoth } from './setup.js';

beforeAll(initBoth);

/** The 2×2 filter with w1 at tap (0,0) for the first half of the outputs and w2 at tap (1,1) for the rest. */
function tapFilter(w1: Float32Array, w2: Float32Array, ci: number, half: number): Float32Array {
  const f = new Float32Array(4 * ci * 2 * half);
  for (let c = 0; c < ci; c++)
    for (let o = 0; o < half; o++) {
      f[c * 2 * half + o] = w1[c * half + o];
      f[3 * ci * 2 * half + c * 2 * half + half + o] = w2[c * half + o];
    }
  return f;
}

// Halves of 4 and 8 output channels take LENNA's two-tap gradient kernel; a half of 2 the ops' own
// gradients. Odd sizes leave a last row and column that no window reaches.
const CASES = BACKENDS.flatMap((backend) =>
  [
    { xShape: [2, 8, 8, 8], half: 4, fused: true },
    { xShape: [3, 6, 10, 6], half: 8, fused: true },
    { xShape: [2, 7, 9, 5], half: 4, fused: true },
    { xShape: [2, 8, 8, 4], half: 2, fused: false },
  ].map((c) => ({ ...c, backend })),
);

test.each(CASES)('factorizedReduce on $backend, x $xShape, $half outputs per half: value and gradients match the float64 definition', async ({ backend, xShape, half, fused }) => {
  await tf.setBackend(backend);
  const ci = xShape[3];
  const xv = values(xShape.reduce((a, b) => a * b, 1), 21), w1v = values(ci * half, 22), w2v = values(ci * half, 23);
  const g = geometry(xShape, [2, 2, ci, 2 * half], 2, 1, 'valid', false);
  const dyv = values(g.n * g.oh * g.ow * 2 * half, 24);
  const filter = tapFilter(w1v, w2v, ci, half);
  const want = convGrads(g, xv, filter, dyv);
  const x = tf.tensor4d(xv, xShape as [number, number, number, number]);
  const w1 = tf.tensor4d(w1v, [1, 1, ci, half]), w2 = tf.tensor4d(w2v, [1, 1, ci, half]);
  const dy = tf.tensor(dyv, [g.n, g.oh, g.ow, 2 * half]);
  const y = factorizedReduce(x, w1, w2);
  expect(relativeError(y.dataSync(), convForward(g, xv, filter))).toBeLessThan(1e-5);
  const [dx, dw1, dw2] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => factorizedReduce(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D))([x, w1, w2], dy);
  expect(relativeError(dx.dataSync(), want.dx)).toBeLessThan(1e-5);
  const tap = (t: number, first: number) => Float64Array.from({ length: ci * half }, (_, i) => want.df[t * ci * 2 * half + Math.floor(i / half) * 2 * half + first + (i % half)]);
  expect(relativeError(dw1.dataSync(), tap(0, 0))).toBeLessThan(1e-5);
  expect(relativeError(dw2.dataSync(), tap(3, half))).toBeLessThan(1e-5);
  const profile = await tf.profile(() => tf.grad((a: tf.Tensor) => factorizedReduce(a as tf.Tensor4D, w1, w2))(x, dy));
  expect(profile.kernelNames.includes('LennaFactorizedReduceGrad')).toBe(fused);
  tf.dispose([x, w1, w2, dy, y, dx, dw1, dw2]);
});
