import * as tf from '@tensorflow/tfjs';
import { backwardCoefficients, forwardCoefficients, type BnKernelAttrs } from './bn-math.js';
import { bnSimd, type WasmMemoryLike } from './bn-simd.js';

/** The parts of tfjs-wasm's backend the SIMD path touches. */
interface WasmBackendInternals {
  wasm: { asm?: { memory?: WasmMemoryLike } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  disposeData(dataId: object): boolean;
}

/** The SIMD loops serve tfjs-wasm tensors whose channel count fills whole 4-lane vectors. */
export function wasmSimdApplies(backend: unknown, c: number): backend is WasmBackendInternals {
  const b = backend as Partial<WasmBackendInternals>;
  return c % 4 === 0 && typeof b.typedArrayFromHeap === 'function' && b.wasm?.asm?.memory !== undefined && b.dataIdMap !== undefined;
}

/**
 * Outputs allocated first (allocation may grow the heap), then a 3C-float scratch: group g's
 * 48 bytes hold three 4-lane vectors (inputs or results of the loops). Freed before returning.
 */
function withScratch<T>(backend: WasmBackendInternals, c: number, run: (scratch: number, view: () => Float32Array) => T): T {
  const info = backend.makeOutput([3 * c], 'float32');
  try {
    return run(backend.dataIdMap.get(info.dataId).memoryOffset, () => backend.typedArrayFromHeap(info));
  } finally {
    backend.disposeData(info.dataId);
  }
}

const ptr = (backend: WasmBackendInternals, info: tf.TensorInfo) => backend.dataIdMap.get(info.dataId).memoryOffset;

/**
 * Calls `each(at, group, rows)` for every 4-channel group of every block of ~16 KB of rows, `at` being
 * the byte offset of the block's first row at that group: a group's loop touches every cache line of
 * its rows, so walking group by group over the whole tensor would stream it from memory once per group.
 */
function blocksOfRows(m: number, c: number, each: (at: number, group: number, rows: number) => void): void {
  const block = Math.max(1, Math.floor(4096 / c));
  for (let r = 0; r < m; r += block) {
    const rows = Math.min(block, m - r);
    for (let g4 = 0; g4 < c; g4 += 4) each(4 * (r * c + g4), g4, rows);
  }
}

/** Reads lanes [offset, offset+4) of each group's 12 scratch floats into a [C] array. */
function gather(view: Float32Array, c: number, offset: number): Float32Array {
  const out = new Float32Array(c);
  for (let j = 0; j < c; j++) out[j] = view[12 * (j >> 2) + offset + (j & 3)];
  return out;
}

/** Clears lanes 4–11 of every group, where the loops add their sums. */
function zeroSums(view: Float32Array, c: number): void {
  for (let g = 0; g < c / 4; g++) view.fill(0, 12 * g + 4, 12 * g + 12);
}

function scatter(view: Float32Array, offset: number, values: ArrayLike<number>): void {
  for (let j = 0; j < values.length; j++) view[12 * (j >> 2) + offset + (j & 3)] = values[j];
}

export function forwardSimd(backend: WasmBackendInternals, a: BnKernelAttrs, x: tf.TensorInfo, g?: tf.TensorInfo, b?: tf.TensorInfo): tf.TensorInfo[] {
  const c = x.shape[x.shape.length - 1];
  const m = tf.util.sizeFromShape(x.shape) / c;
  const [y, mean, variance, rstd] = [x.shape, [c], [c], [c]].map((s) => backend.makeOutput(s, 'float32'));
  const loops = bnSimd(backend.wasm.asm!.memory!);
  withScratch(backend, c, (scratch, view) => {
    const shift = backend.typedArrayFromHeap(x).slice(0, c);
    scatter(view(), 0, shift);
    zeroSums(view(), c);
    const [px, py] = [ptr(backend, x), ptr(backend, y)];
    blocksOfRows(m, c, (at, g4, rows) => loops.moments(px + at, scratch + 12 * g4, scratch + 12 * g4 + 16, rows, 4 * c));
    const r = forwardCoefficients(a, m, gather(view(), c, 4), gather(view(), c, 8), shift, g && backend.typedArrayFromHeap(g), b && backend.typedArrayFromHeap(b));
    backend.typedArrayFromHeap(mean).set(r.mean);
    backend.typedArrayFromHeap(variance).set(r.variance);
    backend.typedArrayFromHeap(rstd).set(r.rstd);
    scatter(view(), 0, r.scale);
    scatter(view(), 4, r.offset);
    blocksOfRows(m, c, (at, g4, rows) => loops.scaleShift(py + at, px + at, scratch + 12 * g4, rows, 4 * c));
  });
  return [y, mean, variance, rstd];
}

export function backwardSimd(
  backend: WasmBackendInternals,
  a: BnKernelAttrs,
  dy: tf.TensorInfo,
  x: tf.TensorInfo,
  mean: tf.TensorInfo,
  rstd: tf.TensorInfo,
  g?: tf.TensorInfo,
): tf.TensorInfo[] {
  const c = x.shape[x.shape.length - 1];
  const m = tf.util.sizeFromShape(x.shape) / c;
  const [dx, dyXhatSum, dySum] = [x.shape, [c], [c]].map((s) => backend.makeOutput(s, 'float32'));
  const loops = bnSimd(backend.wasm.asm!.memory!);
  withScratch(backend, c, (scratch, view) => {
    const meanv = backend.typedArrayFromHeap(mean).slice();
    scatter(view(), 0, meanv);
    zeroSums(view(), c);
    const [pdx, pdy, px] = [ptr(backend, dx), ptr(backend, dy), ptr(backend, x)];
    blocksOfRows(m, c, (at, g4, rows) => loops.gradSums(pdy + at, px + at, scratch + 12 * g4, scratch + 12 * g4 + 16, rows, 4 * c));
    const sDy = gather(view(), c, 4);
    const r = backwardCoefficients(a, m, sDy, gather(view(), c, 8), meanv, backend.typedArrayFromHeap(rstd).slice(), g && backend.typedArrayFromHeap(g).slice());
    backend.typedArrayFromHeap(dyXhatSum).set(r.dyXhatSum);
    backend.typedArrayFromHeap(dySum).set(sDy);
    scatter(view(), 0, r.k);
    scatter(view(), 4, r.slope);
    scatter(view(), 8, r.offset);
    blocksOfRows(m, c, (at, g4, rows) => loops.scaleShift2(pdx + at, pdy + at, px + at, scratch + 12 * g4, rows, 4 * c));
  });
  return [dx, dyXhatSum, dySum];
}
