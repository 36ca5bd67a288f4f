/**
 * BatchNorm's four per-channel loops as WebAssembly SIMD over tfjs-wasm's own heap, assembled here
 * from opcodes (no toolchain). Each function walks one group of 4 channels down `rows` rows `stride`
 * bytes apart, so a call per group covers a channels-last tensor whose channel count is a multiple of 4
 * (the caller walks blocks of rows, every group per block, so a block stays in cache across groups).
 * Vectors (shift, coefficients, results) live in a scratch area; all pointers are byte offsets.
 *
 *   moments(x, shift, out, rows, stride):        out += Σ (x − shift), out+16 += Σ (x − shift)²
 *   scaleShift(out, x, coef, rows, stride):      out = x·coef + coef[+16]
 *   gradSums(dy, x, mean, out, rows, stride):    out += Σ dy, out+16 += Σ dy·(x − mean)
 *   scaleShift2(out, a, b, coef, rows, stride):  out = a·coef + b·coef[+16] + coef[+32]
 * Sums are float32 per lane (tfjs-wasm's own reductions are too).
 */

import { assembleModule, I32, memoryBound, op, V128, vec } from '../wasm-module.js';

const { get, set } = op;

/** Address base + o, with o the row offset local. */
const at = (base: number, o: number) => [...get(base), ...get(o), ...op.i32Add];

/** out[offset] += the vector in local `sum`. */
const accumulate = (out: number, sum: number, offset: number) => [...get(out), ...get(out), ...op.v128Load(offset), ...get(sum), ...op.f32x4Add, ...op.v128Store(offset)];

/** for (o = 0, e = rows·stride; o < e; o += stride) body — o and e are i32 locals. */
function rowLoop(rows: number, stride: number, o: number, e: number, body: number[]): number[] {
  return [
    ...get(rows), ...get(stride), ...op.i32Mul, ...set(e),
    ...op.block, ...op.loop,
    ...get(o), ...get(e), ...op.i32GeU, ...op.brIf(1),
    ...body,
    ...get(o), ...get(stride), ...op.i32Add, ...set(o),
    ...op.br(0),
    ...op.end, ...op.end,
  ];
}

// moments(x 0, shift 1, out 2, rows 3, stride 4; o 5, e 6, acc1 7, acc2 8, s 9, d 10)
const MOMENTS = [
  ...vec([[2, I32], [4, V128]]),
  ...get(1), ...op.v128Load(), ...set(9),
  ...rowLoop(3, 4, 5, 6, [
    ...at(0, 5), ...op.v128Load(), ...get(9), ...op.f32x4Sub, ...set(10),
    ...get(7), ...get(10), ...op.f32x4Add, ...set(7),
    ...get(8), ...get(10), ...get(10), ...op.f32x4Mul, ...op.f32x4Add, ...set(8),
  ]),
  ...accumulate(2, 7, 0),
  ...accumulate(2, 8, 16),
  ...op.end,
];

// scaleShift(out 0, x 1, coef 2, rows 3, stride 4; o 5, e 6, s 7, t 8)
const SCALE_SHIFT = [
  ...vec([[2, I32], [2, V128]]),
  ...get(2), ...op.v128Load(), ...set(7),
  ...get(2), ...op.v128Load(16), ...set(8),
  ...rowLoop(3, 4, 5, 6, [...at(0, 5), ...at(1, 5), ...op.v128Load(), ...get(7), ...op.f32x4Mul, ...get(8), ...op.f32x4Add, ...op.v128Store()]),
  ...op.end,
];

// gradSums(dy 0, x 1, mean 2, out 3, rows 4, stride 5; o 6, e 7, a1 8, a2 9, m 10, g 11)
const GRAD_SUMS = [
  ...vec([[2, I32], [4, V128]]),
  ...get(2), ...op.v128Load(), ...set(10),
  ...rowLoop(4, 5, 6, 7, [
    ...at(0, 6), ...op.v128Load(), ...set(11),
    ...get(8), ...get(11), ...op.f32x4Add, ...set(8),
    ...get(9), ...get(11), ...at(1, 6), ...op.v128Load(), ...get(10), ...op.f32x4Sub, ...op.f32x4Mul, ...op.f32x4Add, ...set(9),
  ]),
  ...accumulate(3, 8, 0),
  ...accumulate(3, 9, 16),
  ...op.end,
];

// scaleShift2(out 0, a 1, b 2, coef 3, rows 4, stride 5; o 6, e 7, ka 8, kb 9, off 10)
const SCALE_SHIFT2 = [
  ...vec([[2, I32], [3, V128]]),
  ...get(3), ...op.v128Load(), ...set(8),
  ...get(3), ...op.v128Load(16), ...set(9),
  ...get(3), ...op.v128Load(32), ...set(10),
  ...rowLoop(4, 5, 6, 7, [
    ...at(0, 6),
    ...at(1, 6), ...op.v128Load(), ...get(8), ...op.f32x4Mul,
    ...at(2, 6), ...op.v128Load(), ...get(9), ...op.f32x4Mul, ...op.f32x4Add,
    ...get(10), ...op.f32x4Add, ...op.v128Store(),
  ]),
  ...op.end,
];

export interface WasmMemoryLike {
  readonly buffer: ArrayBuffer;
}

export interface BnSimd {
  moments(x: number, shift: number, out: number, rows: number, stride: number): void;
  scaleShift(out: number, x: number, coef: number, rows: number, stride: number): void;
  gradSums(dy: number, x: number, mean: number, out: number, rows: number, stride: number): void;
  scaleShift2(out: number, a: number, b: number, coef: number, rows: number, stride: number): void;
}

/** The loops bound to `memory` (one instance per memory, made on first use). */
export const bnSimd: (memory: WasmMemoryLike) => BnSimd = memoryBound<BnSimd>(
  assembleModule([
    { name: 'moments', params: 5, body: MOMENTS },
    { name: 'scaleShift', params: 5, body: SCALE_SHIFT },
    { name: 'gradSums', params: 6, body: GRAD_SUMS },
    { name: 'scaleShift2', params: 6, body: SCALE_SHIFT2 },
  ]),
);
