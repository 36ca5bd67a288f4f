import * as tf from '@tensorflow/tfjs';
import { KernelGraph } from './graph.js';
import { makeFloatOutput } from './heap.js';
import { LoopHeap } from './loop-heap.js';

/**
 * Sum and Mean over leading axes (batch norm's reduction over N, H, W): both backends transpose the
 * reduced axes inward first.
 * - wasm: the SIMD multiply-add loop adds chunks of whole rows (~1024 floats, so they stay in cache)
 *   into one accumulator, then JS folds its rows: one pass over x, ~3× faster than the matrix product
 *   below (tfjs-wasm's BatchMatMul runs transposeA as a plain loop).
 * - cpu: xᵀ·w with x as [P, R] and a ones (or 1/P) column w on the matrix kernel, a twentieth of the
 *   transposing reduction. (x goes first: a new second operand gets repacked.)
 */
export function leadingAxesReduce(original: tf.KernelFunc, kind: 'sum' | 'mean', backendName: string): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.every((a, i) => a === i) && axes.length > 0 && axes.length < x.shape.length;
    if (x.dtype !== 'float32' || !leading || tf.util.sizeFromShape(x.shape) === 0) return original(args);
    const p = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
    const rest = x.shape.slice(axes.length);
    const outShape = keepDims ? [...axes.map(() => 1), ...rest] : rest;
    const backend = args.backend as tf.KernelBackend;
    if (backendName === 'wasm') return simdColumnSum(backend, x, p, outShape, kind === 'mean' ? 1 / p : 1);
    const g = new KernelGraph(backend, backendName);
    const weights = g.constant([1, p, 1], (v) => v.fill(kind === 'mean' ? 1 / p : 1));
    const rows = g.reshape(x, [1, p, rest.reduce((a, b) => a * b, 1)]);
    const out = g.run('BatchMatMul', { a: rows, b: weights }, { transposeA: true, transposeB: false });
    return g.finish(g.reshape(out, outShape));
  };
}

const CHUNK_FLOATS = 1024;

/** Σ over the p rows of x (as [p, r]) times `scale`: chunks of k whole rows summed lane-wise, then the k rows folded. */
function simdColumnSum(backend: tf.KernelBackend, x: tf.TensorInfo, p: number, outShape: number[], scale: number): tf.TensorInfo {
  const total = x.shape.reduce((a, b) => a * b, 1);
  const r = total / p;
  const chunk = Math.max(1, Math.floor(CHUNK_FLOATS / r)) * r;
  const heap = new LoopHeap(backend, [x], [chunk, chunk]);
  const [px] = heap.inputs, [pacc, pones] = heap.scratch;
  const f = heap.f32();
  f.fill(1, pones / 4, pones / 4 + chunk);
  for (let start = 0; start < total; start += chunk) {
    const n = Math.min(chunk, total - start);
    heap.loops.mac(pacc, px + 4 * start, pones, n);
    for (let t = n & ~3; t < n; t++) f[pacc / 4 + t] += f[px / 4 + start + t];
  }
  const sums = new Float64Array(r);
  for (let t = 0; t < chunk; t++) sums[t % r] += f[pacc / 4 + t];
  heap.close();
  return makeFloatOutput(backend, outShape, [], (out) => sums.forEach((s, i) => (out[i] = s * scale)));
}
