/**
 * Small WebAssembly SIMD loops, written with the typed builder in ../wasm/code.ts, for the
 * gradient kernels whose arithmetic no tfjs forward kernel expresses cheaply. Each does four floats
 * per instruction over a contiguous run; the caller does the < 4 leftover elements in JS.
 *
 *   mac(acc, a, b, n):              acc[t] += a[t]·b[t]                      (depthwise filter gradient)
 *   firstMaxGrad(dx, taken, x, y, dy, n):  m = (x[t] == y[t]) ∧ ¬taken[t];  dx[t] += m ? dy[t] : 0;
 *                                   taken[t] |= m                            (max-pool gradient, first max wins)
 *   reluGrad(dx, x, dy, n):         dx[t] = x[t] > 0 ? dy[t] : 0             (ReLU gradient, one pass)
 *   firstMaxGradRows(…, n, rows, xStride, outStride): firstMaxGrad over `rows` rows, each pointer moving
 *                                   by its row stride in bytes (n a multiple of 4): one call per rectangle
 *   copyRows(dst, src, n, rows, dstStride, srcStride):  n floats per row, rows × (n a multiple of 4)
 *   firstMaxWindow(dx, x, y, dy, n, rows, xStride, outStride, 9 tap offsets): firstMaxGrad for a 3×3
 *                                   window with all nine taps per output in registers (interior outputs)
 * Pointers are byte offsets into the memory the module imports (tfjs-wasm's own heap, or a private one).
 */

import { assembleModule, memoryBound, wasmApi, type WasmFunction, type WasmMemory } from '../wasm/module.js';
import { countDown, f32x4, i32, local, v128, wasmFunction, whileBelow, type I32, type Local, type Stmt } from '../wasm/code.js';

export { wasmApi, type WasmMemory };

/**
 * `while (p[0] < end) { body; every pointer p[k] += 16 }` over n floats, `end` = p[0] + 4·(n & ~3)
 * computed first: the leftovers (n mod 4) are the caller's.
 */
function simdLoop(pointers: Array<Local<'i32'>>, n: I32, end: Local<'i32'>, body: Stmt[]): Stmt[] {
  return [
    local.set(end, i32.add(pointers[0], i32.shl(i32.shr_u(n, 2), 4))),
    whileBelow(pointers[0], end, [...body, ...pointers.map((p) => local.set(p, i32.add(p, 16)))]),
  ];
}

/**
 * A rectangle of `rows` rows (≥ 1) of n floats each (n a multiple of 4, as nothing does leftovers):
 * simdLoop over a row, then every pointer moves to its row's start + its stride. `starts` are spare
 * locals, one per pointer.
 */
function simdRows(pointers: Array<Local<'i32'>>, strides: I32[], starts: Array<Local<'i32'>>, rows: Local<'i32'>, n: I32, end: Local<'i32'>, body: Stmt[]): Stmt[] {
  const nextRow = pointers.map((p, k) => local.set(p, local.tee(starts[k], i32.add(starts[k], strides[k]))));
  return [...pointers.map((p, k) => local.set(starts[k], p)), countDown(rows, [...simdLoop(pointers, n, end, body), ...nextRow])];
}

const mac = wasmFunction('mac', (f) => {
  const { acc, a, b, n } = f.params('acc', 'a', 'b', 'n');
  const { end } = f.locals('i32', 'end');
  return simdLoop([acc, a, b], n, end, [v128.store(acc, f32x4.add(v128.load(acc), f32x4.mul(v128.load(a), v128.load(b))))]);
});

/**
 * One vector of the first-max rule: m = (x == y) ∧ ¬taken; dx += m ? dy : 0; taken |= m.
 * `m` is a v128 local.
 */
function firstMax(p: Record<'dx' | 'taken' | 'x' | 'y' | 'dy', I32>, m: Local<'v128'>): Stmt[] {
  return [
    local.set(m, v128.andnot(f32x4.eq(v128.load(p.x), v128.load(p.y)), v128.load(p.taken))),
    v128.store(p.dx, f32x4.add(v128.load(p.dx), v128.and(v128.load(p.dy), m))),
    v128.store(p.taken, v128.or(v128.load(p.taken), m)),
  ];
}

const FIRST_MAX_POINTERS = ['dx', 'taken', 'x', 'y', 'dy'] as const;

const firstMaxGrad = wasmFunction('firstMaxGrad', (f) => {
  const p = f.params(...FIRST_MAX_POINTERS, 'n');
  const { end } = f.locals('i32', 'end');
  const { m } = f.locals('v128', 'm');
  return simdLoop(FIRST_MAX_POINTERS.map((k) => p[k]), p.n, end, firstMax(p, m));
});

const firstMaxGradRows = wasmFunction('firstMaxGradRows', (f) => {
  const p = f.params(...FIRST_MAX_POINTERS, 'n', 'rows', 'xStride', 'outStride');
  const { end } = f.locals('i32', 'end');
  const starts = f.localList('i32', 'start', FIRST_MAX_POINTERS.length);
  const { m } = f.locals('v128', 'm');
  // dx and x walk x's rows; taken, y and dy walk the output's
  const strides = [p.xStride, p.outStride, p.xStride, p.outStride, p.outStride];
  return simdRows(FIRST_MAX_POINTERS.map((k) => p[k]), strides, starts, p.rows, p.n, end, firstMax(p, m));
});

const reluGrad = wasmFunction('reluGrad', (f) => {
  const { dx, x, dy, n } = f.params('dx', 'x', 'dy', 'n');
  const { end } = f.locals('i32', 'end');
  const { zero } = f.locals('v128', 'zero'); // never set: locals start as zeros
  return simdLoop([dx, x, dy], n, end, [v128.store(dx, v128.and(v128.load(dy), f32x4.gt(v128.load(x), zero)))]);
});

const WINDOW_TAPS = 9;

/**
 * A 3×3 window's nine taps per output vector in registers, for outputs whose taps all lie inside x
 * (x and dx point at the window's corner; tap offsets in bytes from it, in window order).
 */
const firstMaxWindow = wasmFunction('firstMaxWindow', (f) => {
  const { dx, x, y, dy, n, rows, xStride, outStride } = f.params('dx', 'x', 'y', 'dy', 'n', 'rows', 'xStride', 'outStride');
  const taps = f.paramList('tap', WINDOW_TAPS);
  const { end } = f.locals('i32', 'end');
  const starts = f.localList('i32', 'start', 4);
  const { max, grad, taken, m } = f.locals('v128', 'max', 'grad', 'taken', 'm');
  return simdRows([dx, x, y, dy], [xStride, xStride, outStride, outStride], starts, rows, n, end, [
    local.set(max, v128.load(y)),
    local.set(grad, v128.load(dy)),
    local.set(taken, v128.zero()),
    ...taps.flatMap((tap) => [
      local.set(m, v128.andnot(f32x4.eq(v128.load(i32.add(x, tap)), max), taken)),
      local.set(taken, v128.or(taken, m)),
      v128.store(i32.add(dx, tap), f32x4.add(v128.load(i32.add(dx, tap)), v128.and(grad, m))),
    ]),
  ]);
});

const copyRows = wasmFunction('copyRows', (f) => {
  const { dst, src, n, rows, dstStride, srcStride } = f.params('dst', 'src', 'n', 'rows', 'dstStride', 'srcStride');
  const { end } = f.locals('i32', 'end');
  const starts = f.localList('i32', 'start', 2);
  return simdRows([dst, src], [dstStride, srcStride], starts, rows, n, end, [v128.store(dst, v128.load(src))]);
});

/** The module's functions, in export order. */
export const SIMD_LOOP_FUNCTIONS: WasmFunction[] = [mac, firstMaxGrad, reluGrad, firstMaxGradRows, copyRows, firstMaxWindow];

export interface SimdLoops {
  memory: WasmMemory;
  mac(acc: number, a: number, b: number, n: number): void;
  firstMaxGrad(dx: number, taken: number, x: number, y: number, dy: number, n: number): void;
  firstMaxGradRows(dx: number, taken: number, x: number, y: number, dy: number, n: number, rows: number, xStride: number, outStride: number): void;
  reluGrad(dx: number, x: number, dy: number, n: number): void;
  copyRows(dst: number, src: number, n: number, rows: number, dstStride: number, srcStride: number): void;
  firstMaxWindow(dx: number, x: number, y: number, dy: number, n: number, rows: number, xStride: number, outStride: number, ...tapOffsets: number[]): void;
}

const bindLoops = memoryBound<Omit<SimdLoops, 'memory'>>(assembleModule(SIMD_LOOP_FUNCTIONS));

/** The loops bound to `memory` (one instance per memory, made on first use). */
export function simdLoops(memory: WasmMemory): SimdLoops {
  return { memory, ...bindLoops(memory) };
}
