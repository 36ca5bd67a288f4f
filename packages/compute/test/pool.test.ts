import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { avgPool2d, inGraphForms, maxPool2d, UserError } from '../src/index.js';
import { BACKENDS, initBoth, registerPortableCpu } from './setup.js';
import { geometry, pool, relativeError, values } from './reference.js';

beforeAll(initBoth);

type Pad = 'same' | 'valid' | number;
interface Case { kind: 'max' | 'avg'; size: number; stride: number; pad: Pad; shape: [number, number, number, number] }

const CASES: Case[] = [];
for (const kind of ['max', 'avg'] as const) {
  for (const stride of [1, 2])
    for (const pad of [1, 'same', 'valid'] as Pad[])
      for (const shape of [[2, 8, 8, 3], [1, 7, 9, 4]] as Case['shape'][]) CASES.push({ kind, size: 3, stride, pad, shape });
  // The evaluation network's auxiliary head: 5×5 at stride 3 without padding; and a 5×5 window padded by 2.
  CASES.push({ kind, size: 5, stride: 3, pad: 'valid', shape: [2, 8, 8, 3] }, { kind, size: 5, stride: 2, pad: 2, shape: [1, 9, 8, 2] });
}

const name = (c: Case) => `${c.kind} ${c.size}×${c.size} stride ${c.stride} pad ${c.pad} on ${c.shape.join('×')}`;

async function checkCase(backend: string, c: Case): Promise<void> {
  await tf.setBackend(backend);
  const g = geometry(c.shape, [c.size, c.size, c.shape[3], 1], c.stride, 1, c.pad, true);
  const xv = values(c.shape.reduce((a, b) => a * b), 5);
  const dyv = values(g.n * g.oh * g.ow * g.c, 6);
  const want = pool(c.kind, g, xv, dyv);
  const op = c.kind === 'max' ? maxPool2d : avgPool2d;
  const opts = { size: c.size, stride: c.stride, pad: c.pad };
  const x = tf.tensor4d(xv, c.shape), dy = tf.tensor4d(dyv, [g.n, g.oh, g.ow, g.c]);
  const y = op(x, opts);
  const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(op(a as tf.Tensor4D, opts), dy)))(x);
  expect(y.shape).toEqual([g.n, g.oh, g.ow, g.c]);
  expect(relativeError(y.dataSync(), want.y)).toBeLessThan(1e-6);
  expect(relativeError(dx.dataSync(), want.dx)).toBeLessThan(1e-6);
  tf.dispose([x, dy, y, dx]);
}

describe.each([...BACKENDS, 'portable forms over cpu’s kernels'])('on %s', (backend) => {
  test.each(CASES.map((c) => [name(c), c] as const))('%s: forward and gradient match the naive loops (padding left out)', async (_n, c) => {
    await checkCase(backend.startsWith('portable') ? registerPortableCpu() : backend, c);
  });
});

test.each(BACKENDS)('on %s the pools run the kernels tf.maxPool/tf.avgPool with numeric padding run, and nothing else', async (backend) => {
  await tf.setBackend(backend);
  const x = tf.ones([2, 8, 8, 4]) as tf.Tensor4D;
  const kernels = async (f: (a: tf.Tensor4D) => tf.Tensor) => (await tf.profile(() => tf.grad((a: tf.Tensor) => tf.sum(f(a as tf.Tensor4D)))(x))).kernelNames;
  for (const stride of [1, 2]) {
    expect(await kernels((a) => maxPool2d(a, { size: 3, stride, pad: 1 }))).toEqual(await kernels((a) => tf.maxPool(a, 3, stride, 1)));
    expect(await kernels((a) => avgPool2d(a, { size: 3, stride, pad: 1 }))).toEqual(await kernels((a) => tf.avgPool(a, 3, stride, 1)));
  }
  x.dispose();
});

test('portable forms: SAME where it reads the same pixels, a hand-padded input otherwise', async () => {
  await tf.setBackend(registerPortableCpu());
  const x = tf.ones([1, 8, 8, 2]) as tf.Tensor4D;
  const kernelsOf = async (kind: 'max' | 'avg', stride: number) =>
    (await tf.profile(() => tf.grad((a: tf.Tensor) => tf.sum((kind === 'max' ? maxPool2d : avgPool2d)(a as tf.Tensor4D, { size: 3, stride, pad: 1 })))(x))).kernelNames;
  expect(await kernelsOf('max', 1)).not.toContain('PadV2');
  expect(await kernelsOf('avg', 1)).not.toContain('PadV2');
  expect(await kernelsOf('max', 2)).toContain('PadV2');
  expect(await kernelsOf('avg', 2)).toContain('PadV2');
  x.dispose();
});

test.each(BACKENDS)('on %s inside inGraphForms the pools take the portable forms (no numeric padding), with the same values', async (backend) => {
  await tf.setBackend(backend);
  const x = tf.tensor4d(values(2 * 8 * 8 * 3, 7), [2, 8, 8, 3]);
  for (const op of [maxPool2d, avgPool2d]) {
    for (const stride of [1, 2]) {
      const opts = { size: 3, stride, pad: 1 };
      const direct = op(x, opts);
      const profile = await tf.profile(() => inGraphForms(() => op(x, opts)));
      const inGraph = profile.result as tf.Tensor;
      expect(relativeError(inGraph.dataSync(), direct.dataSync())).toBeLessThan(1e-6);
      // Stride 2 pads by hand (SAME would pad the other side); stride 1 is SAME (nn's web-model test checks the attribute).
      expect(profile.kernelNames.includes('PadV2')).toBe(stride === 2);
      tf.dispose([direct, inGraph]);
    }
  }
  // Outside the scope the kernels take numeric padding again.
  expect((await tf.profile(() => maxPool2d(x, { size: 3, stride: 2, pad: 1 }))).kernelNames).not.toContain('PadV2');
  x.dispose();
});

test('options a user can get wrong are UserErrors that name the option', () => {
  const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
  expect(() => maxPool2d(x, { size: 0, pad: 'same' })).toThrow(UserError);
  expect(() => avgPool2d(x, { size: 3, stride: 1.5, pad: 'same' })).toThrow(/stride=1.5/);
  expect(() => avgPool2d(x, { size: 3, pad: 3 })).toThrow(/pad=3/);
  expect(() => maxPool2d(x, { size: 5, pad: 'valid' })).toThrow(/does not fit/);
});
