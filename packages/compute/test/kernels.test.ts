import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { conv2d, depthwiseConv2d, LENNA_KERNEL_BACKENDS, lennaKernelNames, originalKernel } from '../src/index.js';
import { BACKENDS, backendBuffers, initBoth } from './setup.js';
import { convGrads, geometry, pool, relativeError, values } from './reference.js';

beforeAll(initBoth);

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
type Inputs = Record<string, { shape: number[]; values: Float32Array }>;

const ASYMMETRIC: Pad = [[0, 0], [1, 0], [0, 2], [0, 0]];
const PADS: Pad[] = ['same', 'valid', 1, ASYMMETRIC];
const X = [2, 7, 8, 3];

function input(shape: number[], seed: number) {
  return { shape, values: values(shape.reduce((a, b) => a * b, 1), seed) };
}

/** tfjs's own cpu kernel, the one LENNA replaced, run on cpu tensors. */
async function reference(kernelName: string, inputs: Inputs, attrs: object): Promise<Float32Array> {
  await tf.setBackend('cpu');
  const kernel = originalKernel(kernelName, 'cpu');
  if (!kernel) throw new Error(`no original cpu ${kernelName}`);
  const tensors = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]));
  const backend = tf.backend();
  const out = kernel.kernelFunc({ inputs: tensors, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
  const result = backend.readSync(out.dataId) as Float32Array;
  backend.disposeData(out.dataId);
  tf.dispose(Object.values(tensors));
  return result;
}

/** LENNA's kernel, through the engine, on `backend`; also checks it freed its intermediates. */
async function lenna(backendName: string, kernelName: string, inputs: Inputs, attrs: object): Promise<Float32Array> {
  await tf.setBackend(backendName);
  const tensors = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]));
  const buffers = backendBuffers();
  const out = tf.engine().runKernel(kernelName, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
  expect(backendBuffers()).toBe(buffers + 1);
  const result = out.dataSync() as Float32Array;
  tf.dispose([out, ...Object.values(tensors)]);
  return result;
}

function outShape(xShape: number[], f: number[], stride: number, pad: Pad, depthwise: boolean): number[] {
  const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], f as [number, number, number, number], stride, 1, pad, undefined, depthwise);
  return info.outShape;
}

interface ConvCase { k: number; mult: number; stride: number; pad: Pad }
const convCases = (ks: number[], mults: number[]): ConvCase[] =>
  ks.flatMap((k) => mults.flatMap((mult) => [1, 2].flatMap((stride) => PADS.map((pad) => ({ k, mult, stride, pad })))));
const label = (c: ConvCase) => `${c.k}×${c.k} ×${c.mult} stride ${c.stride} pad ${JSON.stringify(c.pad)}`;

const CONV_KERNELS = [
  { kernel: 'Conv2DBackpropFilter', depthwise: false, cases: convCases([1, 3], [4]) },
  { kernel: 'Conv2DBackpropInput', depthwise: false, cases: convCases([1, 3], [4]) },
  { kernel: 'DepthwiseConv2dNativeBackpropFilter', depthwise: true, cases: convCases([3, 5], [1, 2]) },
  { kernel: 'DepthwiseConv2dNativeBackpropInput', depthwise: true, cases: convCases([3, 5], [1, 2]) },
];

describe.each(BACKENDS)('LENNA kernels on %s match tfjs’s own cpu kernels', (backend) => {
  for (const { kernel, depthwise, cases } of CONV_KERNELS) {
    test.each(cases.map((c) => [label(c), c] as const))(`${kernel} %s`, async (_l, c) => {
      const fShape = [c.k, c.k, X[3], c.mult];
      const dy = input(outShape(X, fShape, c.stride, c.pad, depthwise), 3);
      const attrs = { strides: c.stride, pad: c.pad, dilations: 1, dataFormat: 'NHWC', filterShape: fShape, inputShape: X };
      const inputs: Inputs = kernel.endsWith('Filter') ? { x: input(X, 1), dy } : { dy, filter: input(fShape, 2) };
      const want = await reference(kernel, inputs, attrs);
      expect(relativeError(await lenna(backend, kernel, inputs, attrs), want)).toBeLessThan(1e-4);
    });
  }

  // 3 channels take the per-row loops, 8 the per-rectangle ones (whole SIMD groups).
  const POOLS = [1, 2].flatMap((stride) => (['same', 'valid'] as const).map((pad) => ({ stride, pad })));
  // Values on a coarse grid make ties within a window common: the first maximum in window order must win.
  const MAX_POOLS = POOLS.flatMap((p) => [3, 8].flatMap((channels) => [false, true].map((ties) => ({ ...p, channels, ties }))));
  test.each(MAX_POOLS)('MaxPoolGrad 3×3 stride $stride pad $pad, $channels channels, ties $ties', async ({ stride, pad, channels, ties }) => {
    const X = [2, 7, 8, channels];
    const x = input(X, 5);
    if (ties) x.values = x.values.map((v) => Math.round(v * 2));
    const y = input(outShape(X, [3, 3, X[3], 1], stride, pad, true), 0);
    const g = geometry(X, [3, 3], stride, 1, pad, true);
    y.values = Float32Array.from(pool('max', g, x.values, new Float64Array(y.values.length)).y);
    const inputs = { dy: input(y.shape, 6), input: x, output: y };
    const attrs = { filterSize: 3, strides: stride, pad };
    const got = await lenna(backend, 'MaxPoolGrad', inputs, attrs);
    expect(relativeError(got, await reference('MaxPoolGrad', inputs, attrs))).toBeLessThan(1e-4);
    expect(relativeError(got, pool('max', g, x.values, inputs.dy.values).dx)).toBeLessThan(1e-4);
  });

  test.each(POOLS)('AvgPoolGrad 3×3 stride $stride pad $pad matches the gradient of the forward average', async ({ stride, pad }) => {
    const x = input(X, 7);
    const g = geometry(X, [3, 3], stride, 1, pad, true);
    const dy = input([g.n, g.oh, g.ow, g.c], 8);
    const attrs = { filterSize: 3, strides: stride, pad };
    const got = await lenna(backend, 'AvgPoolGrad', { dy, input: x }, attrs);
    expect(relativeError(got, pool('avg', g, x.values, dy.values).dx)).toBeLessThan(1e-4);
    // tfjs's own kernel agrees where no window touches padding.
    if (pad === 'valid') expect(relativeError(got, await reference('AvgPoolGrad', { dy, input: x }, attrs))).toBeLessThan(1e-4);
  });
});

/*
 * The SIMD filter gradients keep 4 input × 8 output channels per regular tile and 16 channels per
 * depthwise tile, with tails of one input channel and of 4 output channels: these channel counts reach
 * every tile shape and every tail.
 */
const TILE_CHANNELS = [
  { ci: 8, co: 16, depthwise: false },
  { ci: 6, co: 12, depthwise: false },
  { ci: 5, co: 4, depthwise: false },
  { ci: 1, co: 8, depthwise: false },
  { ci: 20, co: 20, depthwise: true },
  { ci: 8, co: 8, depthwise: true },
];
const FILTER_GRAD_CASES = TILE_CHANNELS.flatMap((channels) =>
  [1, 3, 5].flatMap((k) =>
    [1, 2].flatMap((stride) =>
      [1, 2].flatMap((dilation) => (['same', 'valid', 1] as const).map((pad) => ({ ...channels, k, stride, dilation, pad }))),
    ),
  ),
).filter((c) => (c.depthwise ? c.k > 1 : c.k < 5) && (c.k > 1 || c.dilation === 1));

describe.each(BACKENDS)('filter gradients on %s match the float64 definition', (backend) => {
  test.each(FILTER_GRAD_CASES)('$ci→$co channels, depthwise $depthwise, $k×$k stride $stride dilation $dilation pad $pad', async (c) => {
    const xShape = [3, 11, 10, c.ci], fShape = [c.k, c.k, c.ci, c.depthwise ? 1 : c.co];
    const g = geometry(xShape, fShape, c.stride, c.dilation, c.pad, c.depthwise);
    const x = input(xShape, 11), dy = input([g.n, g.oh, g.ow, c.co], 12);
    const attrs = { strides: c.stride, pad: c.pad, dilations: c.dilation, dataFormat: 'NHWC', filterShape: fShape };
    const kernel = c.depthwise ? 'DepthwiseConv2dNativeBackpropFilter' : 'Conv2DBackpropFilter';
    const got = await lenna(backend, kernel, { x, dy }, attrs);
    const want = convGrads(g, x.values, new Float32Array(fShape.reduce((a, b) => a * b, 1)), dy.values).df;
    expect(relativeError(got, want)).toBeLessThan(1e-5);
  });
});

/* A k×k stride-k convolution without padding (nn's factorized reduce) takes a depth-to-space path: on
 * whole and cut-off grids, with runs of k·channels floats that are and are not whole SIMD groups. */
const PATCHWISE_CASES = BACKENDS.flatMap((backend) =>
  [
    { k: 2, xShape: [2, 8, 8, 6], co: 4 },
    { k: 2, xShape: [2, 7, 9, 3], co: 8 },
    { k: 3, xShape: [2, 9, 10, 4], co: 5 },
  ].map((c) => ({ ...c, backend })),
);
test.each(PATCHWISE_CASES)('Conv2DBackpropInput on $backend, $k×$k stride $k on $xShape matches the float64 definition', async ({ backend, k, xShape, co }) => {
  const fShape = [k, k, xShape[3], co];
  const g = geometry(xShape, fShape, k, 1, 'valid', false);
  const dy = input([g.n, g.oh, g.ow, co], 13), filter = input(fShape, 14);
  const attrs = { strides: k, pad: 'valid', dilations: 1, dataFormat: 'NHWC', inputShape: xShape };
  const got = await lenna(backend, 'Conv2DBackpropInput', { dy, filter }, attrs);
  const want = convGrads(g, new Float32Array(xShape.reduce((a, b) => a * b, 1)), filter.values, dy.values).dx;
  expect(relativeError(got, want)).toBeLessThan(1e-5);
});

test.each(BACKENDS)('ReLU’s gradient on %s is dy where x > 0 and 0 elsewhere, zeros and odd lengths included', async (backend) => {
  await tf.setBackend(backend);
  for (const n of [1, 7, 4099]) {
    const xv = values(n, 40).map((v, i) => (i % 5 === 0 ? 0 : v));
    const dv = values(n, 41);
    const x = tf.tensor1d(xv), dy = tf.tensor1d(dv);
    const buffers = backendBuffers();
    const dx = tf.grad((t: tf.Tensor) => tf.relu(t))(x, dy);
    expect(backendBuffers()).toBe(buffers + 1);
    expect(Array.from(dx.dataSync())).toEqual(Array.from(xv, (v, i) => (v > 0 ? dv[i] : 0)));
    tf.dispose([x, dy, dx]);
  }
  const x = tf.tensor1d([1, -1]);
  const profile = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.relu(t))(x));
  expect(profile.kernelNames).toContain('LennaReluGrad');
  expect(profile.kernelNames).not.toContain('Step');
  x.dispose();
});

test('the reference pool is what tfjs computes forward, and tfjs’s own AvgPoolGrad is not its gradient under same padding', async () => {
  const x = input([1, 4, 4, 1], 9);
  const g = geometry(x.shape, [3, 3], 1, 1, 'same', true);
  for (const backend of BACKENDS) {
    await tf.setBackend(backend);
    const t = tf.tensor4d(x.values, [1, 4, 4, 1]);
    expect(relativeError(tf.avgPool(t, 3, 1, 'same').dataSync(), pool('avg', g, x.values, new Float64Array(16)).y)).toBeLessThan(1e-6);
    expect(relativeError(tf.maxPool(t, 3, 1, 'same').dataSync(), pool('max', g, x.values, new Float64Array(16)).y)).toBeLessThan(1e-6);
    t.dispose();
  }
  const ones = { shape: [1, 4, 4, 1], values: new Float32Array(16).fill(1) };
  const theirs = await reference('AvgPoolGrad', { dy: ones, input: x }, { filterSize: 3, strides: 1, pad: 'same' });
  expect(theirs[0]).toBeCloseTo(4 / 9, 5); // every window counted as 9 pixels
  expect(pool('avg', g, x.values, ones.values).dx[0]).toBeCloseTo(1 / 4 + 1 / 6 + 1 / 6 + 1 / 9, 5);
});

test('every LENNA kernel is registered on both backends', () => {
  for (const backend of LENNA_KERNEL_BACKENDS)
    for (const name of lennaKernelNames(backend)) {
      expect(tf.getKernel(name, backend)?.kernelFunc, `${backend}/${name}`).toBeTypeOf('function');
      expect(tf.getKernel(name, backend)?.kernelFunc, `${backend}/${name} replaced`).not.toBe(originalKernel(name, backend)?.kernelFunc);
    }
});

/** A small supernet-like stack of every op DARTS needs, with a scalar loss. */
function network(...params: tf.Tensor[]): tf.Scalar {
  const [x, w3, dw, pw, dil, dil5, dense] = params as tf.Tensor4D[];
  let h = tf.relu(conv2d(x, w3, { pad: 'same' }));
  h = conv2d(depthwiseConv2d(h, dw, { pad: 'same' }), pw, { pad: 0 });
  h = tf.add(tf.maxPool(h, 3, 1, 'same'), tf.avgPool(h, 3, 1, 'same'));
  h = depthwiseConv2d(tf.relu(h), dil, { dilation: 2, pad: 'same' });
  h = depthwiseConv2d(h, dil5, { stride: 2, dilation: 2, pad: 'same' });
  h = tf.add(tf.maxPool(h, 3, 2, 'same'), tf.avgPool(h, 3, 2, 'same'));
  const pooled = tf.mean(h, [1, 2]);
  return tf.sum(tf.square(tf.matMul(pooled, dense.reshape([4, 3]))));
}

test('a whole small network’s gradients on wasm equal those on cpu', async () => {
  const shapes = [[2, 12, 12, 3], [3, 3, 3, 4], [3, 3, 4, 1], [1, 1, 4, 4], [3, 3, 4, 1], [5, 5, 4, 1], [1, 1, 4, 3]];
  const inputs = shapes.map((s, i) => input(s, 20 + i));
  const grads: Record<string, Float32Array[]> = {};
  for (const backend of BACKENDS) {
    await tf.setBackend(backend);
    const params = inputs.map((v) => tf.tensor(v.values, v.shape));
    const gs = tf.grads(network)(params);
    grads[backend] = gs.map((g) => g.dataSync() as Float32Array);
    tf.dispose([...params, ...gs]);
  }
  grads.wasm.forEach((g, i) => expect(relativeError(g, grads.cpu[i]), `parameter ${i}`).toBeLessThan(1e-4));
  expect(Math.max(...grads.cpu[1].map(Math.abs))).toBeGreaterThan(0);
});

test.each([
  { shape: [2, 7, 8, 3], paddings: [[0, 0], [1, 0], [0, 2], [0, 0]], constantValue: 0 },
  { shape: [2, 7, 8, 3], paddings: [[1, 1], [0, 0], [0, 0], [0, 0]], constantValue: 0 },
  { shape: [2, 7, 8, 3], paddings: [[0, 0], [0, 0], [0, 0], [2, 1]], constantValue: -1.5 },
  { shape: [6, 5], paddings: [[0, 0], [0, 0]], constantValue: 0 },
  { shape: [4, 2, 3], paddings: [[0, 0], [0, 1], [0, 0]], constantValue: 0 },
])('the cpu PadV2 matches tfjs’s own on $shape by $paddings', async ({ shape, paddings, constantValue }) => {
  const x = input(shape, 31);
  const attrs = { paddings, constantValue };
  expect(Array.from(await lenna('cpu', 'PadV2', { x }, attrs))).toEqual(Array.from(await reference('PadV2', { x }, attrs)));
});

test.each([
  { shape: [2, 7, 8, 3], begin: [0, 1, 1, 0], size: [2, 6, 7, 3] },
  { shape: [2, 7, 8, 3], begin: [1, 0, 2, 1], size: [1, 7, 3, 2] },
  { shape: [2, 7, 8, 3], begin: [0, 0, 0, 0], size: [2, 7, 8, 3] },
  { shape: [6, 5], begin: [2, 0], size: [3, 5] },
  { shape: [4, 2, 3, 2, 5], begin: [1, 0, 1, 0, 2], size: [2, 2, 2, 1, 3] },
  { shape: [9], begin: [4], size: [0] },
  { shape: [3, 10, 20], begin: [1, 2, 0], size: [2, 8, 20] },
].flatMap((c) => BACKENDS.map((backend) => ({ ...c, backend }))))('the $backend Slice matches tfjs’s own on $shape from $begin size $size', async ({ shape, begin, size, backend }) => {
  const x = input(shape, 30);
  const attrs = { begin, size };
  expect(Array.from(await lenna(backend, 'Slice', { x }, attrs))).toEqual(Array.from(await reference('Slice', { x }, attrs)));
  await tf.setBackend(backend);
  const ints = tf.tensor(Int32Array.from(x.values, (v) => Math.round(v * 100)), shape, 'int32');
  expect(tf.slice(ints, begin, size).arraySync()).toEqual(sliceByHand(ints.arraySync(), begin, size));
  ints.dispose();
});

test.each([
  { shape: [2, 7, 8, 6], numOrSizeSplits: [2, 4], axis: 3 },
  { shape: [2, 7, 8, 6], numOrSizeSplits: 2, axis: 0 },
  { shape: [2, 7, 8, 6], numOrSizeSplits: [3, -1, 2], axis: 1 },
].flatMap((c) => BACKENDS.map((backend) => ({ ...c, backend }))))('the $backend SplitV matches tfjs’s own on $shape split $numOrSizeSplits along $axis', async ({ shape, numOrSizeSplits, axis, backend: name }) => {
  await tf.setBackend(name);
  const x = tf.tensor(input(shape, 32).values, shape);
  const attrs = { numOrSizeSplits, axis } as unknown as tf.NamedAttrMap;
  const ours = tf.engine().runKernel('SplitV', { x }, attrs) as unknown as tf.Tensor[];
  const backend = tf.backend();
  const theirs = originalKernel('SplitV', name)?.kernelFunc({ inputs: { x }, backend, attrs }) as tf.TensorInfo[];
  expect(ours.map((t) => t.shape)).toEqual(theirs.map((t) => t.shape));
  ours.forEach((t, i) => expect(Array.from(t.dataSync())).toEqual(Array.from(backend.readSync(theirs[i].dataId) as Float32Array)));
  theirs.forEach((t) => backend.disposeData(t.dataId));
  tf.dispose([x, ...ours]);
});

test.each([
  { shape: [2, 7, 8, 3], perm: [3, 1, 2, 0] },
  { shape: [2, 7, 8, 3], perm: [1, 2, 0, 3] },
  { shape: [6, 5], perm: [1, 0] },
  { shape: [4, 2, 3, 2, 5], perm: [4, 0, 3, 1, 2] },
  { shape: [3, 4, 5], perm: [0, 1, 2] },
  { shape: [0, 4], perm: [1, 0] },
])('the cpu Transpose matches tfjs’s own on $shape by $perm', async ({ shape, perm }) => {
  const x = input(shape, 33);
  expect(Array.from(await lenna('cpu', 'Transpose', { x }, { perm }))).toEqual(Array.from(await reference('Transpose', { x }, { perm })));
  await tf.setBackend('cpu');
  const ints = tf.tensor(Int32Array.from(x.values, (v) => Math.round(v * 100)), shape, 'int32');
  const ours = tf.transpose(ints, perm);
  expect(ours.shape).toEqual(perm.map((p) => shape[p]));
  expect(ours.dtype).toBe('int32');
  expect(Array.from(ours.dataSync())).toEqual(Array.from(ints.dataSync()).map((_, i) => ints.dataSync()[sourceIndex(i, shape, perm)]));
  tf.dispose([ints, ours]);
});

/** The input index that output element `i` of a transpose comes from, by plain index arithmetic. */
function sourceIndex(i: number, shape: number[], perm: number[]): number {
  const outShape = perm.map((p) => shape[p]);
  const outIndex = outShape.map((_, d) => Math.floor(i / outShape.slice(d + 1).reduce((a, b) => a * b, 1)) % outShape[d]);
  const inIndex = new Array<number>(shape.length);
  perm.forEach((p, d) => (inIndex[p] = outIndex[d]));
  return inIndex.reduce((acc, v, d) => acc * shape[d] + v, 0);
}

/** Nested-array slicing, the plainest reference. */
function sliceByHand(a: unknown, begin: number[], size: number[]): unknown {
  if (begin.length === 0) return a;
  return (a as unknown[]).slice(begin[0], begin[0] + size[0]).map((b) => sliceByHand(b, begin.slice(1), size.slice(1)));
}

test('on wasm a clone shares its buffer and outlives the original', async () => {
  await tf.setBackend('wasm');
  const a = tf.tensor([1, 2, 3]);
  const buffers = backendBuffers();
  const b = tf.clone(a);
  const c = tf.cast(a, 'float32');
  expect(backendBuffers()).toBe(buffers);
  a.dispose();
  expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
  c.dispose();
  expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
  b.dispose();
  expect(backendBuffers()).toBe(buffers - 1);
});

test.each([
  { kernel: 'Sum', shape: [2, 7, 8, 3], axis: [0, 1, 2], keepDims: false },
  { kernel: 'Sum', shape: [2, 7, 8, 3], axis: [1, 0], keepDims: true },
  { kernel: 'Mean', shape: [2, 7, 8, 3], axis: [0, 1, 2], keepDims: true },
  { kernel: 'Mean', shape: [5, 4], axis: 0, keepDims: false },
  { kernel: 'Mean', shape: [2, 7, 8, 3], axis: [1, 2], keepDims: false },
  { kernel: 'Sum', shape: [2, 7, 8, 3], axis: [0, 1, 2, 3], keepDims: false },
  // wasm sums chunks of whole rows: rows that do not fill the last chunk, odd row lengths, rows longer than a chunk.
  { kernel: 'Sum', shape: [3, 50, 7], axis: [0, 1], keepDims: false },
  { kernel: 'Mean', shape: [37, 2, 3, 5], axis: [0, 1, 2], keepDims: true },
  { kernel: 'Sum', shape: [3, 1500], axis: [0], keepDims: false },
].flatMap((c) => BACKENDS.map((backend) => ({ ...c, backend }))))('the $backend $kernel over $axis of $shape (keepDims $keepDims) matches tfjs’s own', async ({ kernel, shape, axis, keepDims, backend: name }) => {
  await tf.setBackend(name);
  const x = input(shape, 40);
  const t = tf.tensor(x.values, shape);
  const ours = tf.engine().runKernel(kernel, { x: t }, { axis, keepDims }) as tf.Tensor;
  const backend = tf.backend();
  const original = originalKernel(kernel, name);
  if (!original) throw new Error(`no original ${name} ${kernel}`);
  original.setupFunc?.(backend);
  const theirs = original.kernelFunc({ inputs: { x: t }, backend, attrs: { axis, keepDims } }) as tf.TensorInfo;
  expect(ours.shape).toEqual(theirs.shape);
  expect(relativeError(ours.dataSync(), backend.readSync(theirs.dataId) as Float32Array)).toBeLessThan(1e-5);
  backend.disposeData(theirs.dataId);
  tf.dispose([t, ours]);
});

test.each(
  (['Multiply', 'Add', 'Sub'] as const).flatMap((kernel) =>
    [
      { a: [2, 7, 8, 3], b: [3] },
      { a: [2, 7, 8, 3], b: [1, 1, 1, 3] },
      { a: [3], b: [2, 7, 8, 3] },
      { a: [1, 1, 1, 5], b: [4, 3, 2, 5] },
      { a: [6, 5], b: [1, 5] },
      { a: [4], b: [4] },
      { a: [2, 7, 8, 3], b: [2, 7, 8, 3] },
      { a: [2, 7, 8, 3], b: [1, 7, 1, 3] },
      { a: [2, 7, 8, 3], b: [] },
      { a: [1], b: [5, 4] },
      { a: [5, 4], b: [1, 1] },
    ].flatMap((c) => BACKENDS.map((backend) => ({ kernel, backend, ...c }))),
))('the $backend $kernel of $a and $b matches tfjs’s own', async ({ kernel, backend: name, a, b }) => {
  const inputs = { a: input(a, 50), b: input(b, 51) };
  const got = await lenna(name, kernel, inputs, {});
  expect(relativeError(got, await reference(kernel, inputs, {}))).toBeLessThan(1e-6);
  // The backend's own kernel, and the output shape.
  await tf.setBackend(name);
  const ta = tf.tensor(inputs.a.values, a), tb = tf.tensor(inputs.b.values, b);
  const ours = tf.engine().runKernel(kernel, { a: ta, b: tb }) as tf.Tensor;
  const original = originalKernel(kernel, name);
  if (!original) throw new Error(`no original ${name} ${kernel}`);
  const backend = tf.backend();
  const theirs = original.kernelFunc({ inputs: { a: ta, b: tb }, backend, attrs: {} }) as tf.TensorInfo;
  expect(ours.shape).toEqual(theirs.shape);
  expect(relativeError(ours.dataSync(), backend.readSync(theirs.dataId) as Float32Array)).toBeLessThan(1e-6);
  backend.disposeData(theirs.dataId);
  tf.dispose([ta, tb, ours]);
});

test.each(
  [
    { kernel: 'Sum', shape: [2, 3, 4, 5], axis: [0, 1, 2], keepDims: false },
    { kernel: 'Mean', shape: [2, 3, 4, 5], axis: [0, 1, 2], keepDims: true },
    { kernel: 'Mean', shape: [2, 3, 4, 5], axis: [1], keepDims: false },
    { kernel: 'Sum', shape: [6, 5], axis: [1], keepDims: true },
    { kernel: 'Mean', shape: [6, 5], axis: [0, 1], keepDims: false },
  ].flatMap((c) => BACKENDS.map((backend) => ({ ...c, backend }))),
)('on $backend the gradient of $kernel over $axis of $shape is dy spread over the reduced axes', async ({ kernel, shape, axis, keepDims, backend }) => {
  await tf.setBackend(backend);
  const x = tf.tensor(input(shape, 60).values, shape);
  const reduce = (t: tf.Tensor) => (kernel === 'Sum' ? tf.sum(t, axis, keepDims) : tf.mean(t, axis, keepDims));
  const outShape = reduce(x).shape;
  const dyValues = input(outShape, 61).values;
  const dy = tf.tensor(dyValues, outShape);
  const buffers = backendBuffers();
  const [dx] = tf.grads(reduce)([x], dy);
  expect(backendBuffers()).toBe(buffers + 1);
  // By hand: each element of x gets the dy of the output it was reduced into (over the count, for Mean).
  const count = axis.reduce((n, a) => n * shape[a], 1);
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const kept = shape.map((n, d) => (axis.includes(d) ? 1 : n));
  const want = Array.from({ length: x.size }, (_, i) => {
    let o = 0;
    kept.forEach((n, d) => (o = o * n + (n === 1 ? 0 : Math.floor(i / strides[d]) % shape[d])));
    return dyValues[o] / (kernel === 'Mean' ? count : 1);
  });
  expect(dx.shape).toEqual(shape);
  expect(relativeError(dx.dataSync(), want)).toBeLessThan(1e-6);
  tf.dispose([x, dy, dx]);
});

test.each([
  { kernel: 'Step', attrs: { alpha: 0 } },
  { kernel: 'Step', attrs: { alpha: 0.25 } },
  { kernel: 'Relu', attrs: {} },
])('the cpu $kernel $attrs matches tfjs’s own, NaN and ±0 included', async ({ kernel, attrs }) => {
  const x = input([3, 5, 4], 70);
  x.values.set([NaN, 0, -0, -1e-30, 1e-30, Infinity, -Infinity]);
  const got = await lenna('cpu', kernel, { x }, attrs);
  const want = await reference(kernel, { x }, attrs);
  expect(Array.from(got)).toEqual(Array.from(want)); // toEqual tells NaN, +0 and -0 apart
});
