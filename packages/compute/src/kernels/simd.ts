/**
 * Small WebAssembly SIMD loops, assembled here from their opcodes (no toolchain needed), for the
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

import { assembleModule, countDown, I32, memoryBound, op, V128, vec, wasmApi, type WasmMemory } from '../wasm-module.js';

export { wasmApi, type WasmMemory };

const { get, set, tee, i32 } = op;
const load = (p: number) => [...get(p), ...op.v128Load()];

/** `for (; p[0] < end; p[k] += 16 for every pointer k) body`, with `end` = p0 + 4·(n & ~3) computed first. */
function simdLoop(pointers: number[], n: number, end: number, body: number[]): number[] {
  const advance = pointers.flatMap((p) => [...get(p), ...i32(16), ...op.i32Add, ...set(p)]);
  return [
    // end = p0 + ((n >> 2) << 4)
    ...get(pointers[0]), ...get(n), ...i32(2), ...op.i32ShrU, ...i32(4), ...op.i32Shl, ...op.i32Add, ...set(end),
    ...op.block, ...op.loop,
    ...get(pointers[0]), ...get(end), ...op.i32GeU, ...op.brIf(1),
    ...body,
    ...advance,
    ...op.br(0),
    ...op.end, ...op.end,
  ];
}

/**
 * `do { simdLoop over n floats; every pointer k moves to its row start + strides[k] } while (--rows)`:
 * a rectangle of rows in one call (rows ≥ 1; n a multiple of 4, as nothing does the leftovers).
 * `starts` are spare locals, one per pointer.
 */
function simdRows(pointers: number[], strides: number[], starts: number[], rows: number, n: number, end: number, body: number[]): number[] {
  const nextRow = pointers.flatMap((p, k) => [...get(starts[k]), ...get(strides[k]), ...op.i32Add, ...tee(starts[k]), ...set(p)]);
  return [...pointers.flatMap((p, k) => [...get(p), ...set(starts[k])]), ...countDown(rows, [...simdLoop(pointers, n, end, body), ...nextRow])];
}

// mac(acc 0, a 1, b 2, n 3; end 4)
const MAC = [
  ...vec([[1, I32]]),
  ...simdLoop([0, 1, 2], 3, 4, [...get(0), ...load(0), ...load(1), ...load(2), ...op.f32x4Mul, ...op.f32x4Add, ...op.v128Store()]),
  ...op.end,
];

/** Over pointers dx 0, taken 1, x 2, y 3, dy 4, with the mask in local m. */
const firstMaxBody = (m: number) => [
  ...load(2), ...load(3), ...op.f32x4Eq, ...load(1), ...op.v128AndNot, ...set(m),
  ...get(0), ...load(0), ...load(4), ...get(m), ...op.v128And, ...op.f32x4Add, ...op.v128Store(),
  ...get(1), ...load(1), ...get(m), ...op.v128Or, ...op.v128Store(),
];

// firstMaxGrad(dx 0, taken 1, x 2, y 3, dy 4, n 5; end 6, m 7)
const FIRST_MAX_GRAD = [...vec([[1, I32], [1, V128]]), ...simdLoop([0, 1, 2, 3, 4], 5, 6, firstMaxBody(7)), ...op.end];

// firstMaxGradRows(dx 0, taken 1, x 2, y 3, dy 4, n 5, rows 6, xStride 7, outStride 8; end 9, starts 10–14, m 15)
const FIRST_MAX_GRAD_ROWS = [
  ...vec([[6, I32], [1, V128]]),
  ...simdRows([0, 1, 2, 3, 4], [7, 8, 7, 8, 8], [10, 11, 12, 13, 14], 6, 5, 9, firstMaxBody(15)),
  ...op.end,
];

// reluGrad(dx 0, x 1, dy 2, n 3; end 4, zero 5): a v128 local starts as zeros
const RELU_GRAD = [
  ...vec([[1, I32], [1, V128]]),
  ...simdLoop([0, 1, 2], 3, 4, [...get(0), ...load(2), ...load(1), ...get(5), ...op.f32x4Gt, ...op.v128And, ...op.v128Store()]),
  ...op.end,
];

/**
 * firstMaxWindow(dx 0, x 1, y 2, dy 3, n 4, rows 5, xStride 6, outStride 7, tap offsets 8–16; end 17,
 * starts 18–21, Y 22, D 23, T 24, M 25): a 3×3 window's nine taps per output vector in registers, for
 * outputs whose taps all lie inside x (x and dx point at the window's corner, offsets in bytes).
 */
const WINDOW_TAPS = 9;
const tapAddress = (base: number, t: number) => [...get(base), ...get(8 + t), ...op.i32Add];
const FIRST_MAX_WINDOW = [
  ...vec([[5, I32], [4, V128]]),
  ...simdRows([0, 1, 2, 3], [6, 6, 7, 7], [18, 19, 20, 21], 5, 4, 17, [
    ...load(2), ...set(22), ...load(3), ...set(23), ...op.v128Zero, ...set(24),
    ...Array.from({ length: WINDOW_TAPS }, (_, t) => [
      ...tapAddress(1, t), ...op.v128Load(), ...get(22), ...op.f32x4Eq, ...get(24), ...op.v128AndNot, ...set(25),
      ...get(24), ...get(25), ...op.v128Or, ...set(24),
      ...tapAddress(0, t), ...tapAddress(0, t), ...op.v128Load(), ...get(23), ...get(25), ...op.v128And, ...op.f32x4Add, ...op.v128Store(),
    ]).flat(),
  ]),
  ...op.end,
];

// copyRows(dst 0, src 1, n 2, rows 3, dstStride 4, srcStride 5; end 6, starts 7–8)
const COPY_ROWS = [...vec([[3, I32]]), ...simdRows([0, 1], [4, 5], [7, 8], 3, 2, 6, [...get(0), ...load(1), ...op.v128Store()]), ...op.end];

export interface SimdLoops {
  memory: WasmMemory;
  mac(acc: number, a: number, b: number, n: number): void;
  firstMaxGrad(dx: number, taken: number, x: number, y: number, dy: number, n: number): void;
  firstMaxGradRows(dx: number, taken: number, x: number, y: number, dy: number, n: number, rows: number, xStride: number, outStride: number): void;
  reluGrad(dx: number, x: number, dy: number, n: number): void;
  copyRows(dst: number, src: number, n: number, rows: number, dstStride: number, srcStride: number): void;
  firstMaxWindow(dx: number, x: number, y: number, dy: number, n: number, rows: number, xStride: number, outStride: number, ...tapOffsets: number[]): void;
}

const bindLoops = memoryBound<Omit<SimdLoops, 'memory'>>(
  assembleModule([
    { name: 'mac', params: 4, body: MAC },
    { name: 'firstMaxGrad', params: 6, body: FIRST_MAX_GRAD },
    { name: 'reluGrad', params: 4, body: RELU_GRAD },
    { name: 'firstMaxGradRows', params: 9, body: FIRST_MAX_GRAD_ROWS },
    { name: 'copyRows', params: 6, body: COPY_ROWS },
    { name: 'firstMaxWindow', params: 8 + WINDOW_TAPS, body: FIRST_MAX_WINDOW },
  ]),
);

/** The loops bound to `memory` (one instance per memory, made on first use). */
export function simdLoops(memory: WasmMemory): SimdLoops {
  return { memory, ...bindLoops(memory) };
}
