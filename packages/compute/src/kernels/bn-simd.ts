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

import { assembleModule, I32, memoryBound, V128, vec } from '../wasm-module.js';

const GET = 0x20;
const SET = 0x21;
const I32_ADD = 0x6a;
const I32_MUL = 0x6c;
const I32_GE_U = 0x4f;
const LOAD = (offset = 0) => [0xfd, 0x00, 0x00, offset];
const STORE = (offset = 0) => [0xfd, 0x0b, 0x00, offset];
const F_ADD = [0xfd, 0xe4, 0x01];
const F_SUB = [0xfd, 0xe5, 0x01];
const F_MUL = [0xfd, 0xe6, 0x01];

/** Address base + o, with o the row offset local. */
const at = (base: number, o: number) => [GET, base, GET, o, I32_ADD];

/** out[offset] += the vector in local `sum`. */
const accumulate = (out: number, sum: number, offset: number) => [GET, out, GET, out, ...LOAD(offset), GET, sum, ...F_ADD, ...STORE(offset)];

/** for (o = 0, e = rows·stride; o < e; o += stride) body — o and e are i32 locals. */
function rowLoop(rows: number, stride: number, o: number, e: number, body: number[]): number[] {
  return [
    GET, rows, GET, stride, I32_MUL, SET, e,
    0x02, 0x40, 0x03, 0x40,
    GET, o, GET, e, I32_GE_U, 0x0d, 1,
    ...body,
    GET, o, GET, stride, I32_ADD, SET, o,
    0x0c, 0,
    0x0b, 0x0b,
  ];
}

// moments(x 0, shift 1, out 2, rows 3, stride 4; o 5, e 6, acc1 7, acc2 8, s 9, d 10)
const MOMENTS = [
  ...vec([[2, I32], [4, V128]]),
  GET, 1, ...LOAD(), SET, 9,
  ...rowLoop(3, 4, 5, 6, [
    ...at(0, 5), ...LOAD(), GET, 9, ...F_SUB, SET, 10,
    GET, 7, GET, 10, ...F_ADD, SET, 7,
    GET, 8, GET, 10, GET, 10, ...F_MUL, ...F_ADD, SET, 8,
  ]),
  ...accumulate(2, 7, 0),
  ...accumulate(2, 8, 16),
  0x0b,
];

// scaleShift(out 0, x 1, coef 2, rows 3, stride 4; o 5, e 6, s 7, t 8)
const SCALE_SHIFT = [
  ...vec([[2, I32], [2, V128]]),
  GET, 2, ...LOAD(), SET, 7,
  GET, 2, ...LOAD(16), SET, 8,
  ...rowLoop(3, 4, 5, 6, [...at(0, 5), ...at(1, 5), ...LOAD(), GET, 7, ...F_MUL, GET, 8, ...F_ADD, ...STORE()]),
  0x0b,
];

// gradSums(dy 0, x 1, mean 2, out 3, rows 4, stride 5; o 6, e 7, a1 8, a2 9, m 10, g 11)
const GRAD_SUMS = [
  ...vec([[2, I32], [4, V128]]),
  GET, 2, ...LOAD(), SET, 10,
  ...rowLoop(4, 5, 6, 7, [
    ...at(0, 6), ...LOAD(), SET, 11,
    GET, 8, GET, 11, ...F_ADD, SET, 8,
    GET, 9, GET, 11, ...at(1, 6), ...LOAD(), GET, 10, ...F_SUB, ...F_MUL, ...F_ADD, SET, 9,
  ]),
  ...accumulate(3, 8, 0),
  ...accumulate(3, 9, 16),
  0x0b,
];

// scaleShift2(out 0, a 1, b 2, coef 3, rows 4, stride 5; o 6, e 7, ka 8, kb 9, off 10)
const SCALE_SHIFT2 = [
  ...vec([[2, I32], [3, V128]]),
  GET, 3, ...LOAD(), SET, 8,
  GET, 3, ...LOAD(16), SET, 9,
  GET, 3, ...LOAD(32), SET, 10,
  ...rowLoop(4, 5, 6, 7, [
    ...at(0, 6),
    ...at(1, 6), ...LOAD(), GET, 8, ...F_MUL,
    ...at(2, 6), ...LOAD(), GET, 9, ...F_MUL, ...F_ADD,
    GET, 10, ...F_ADD, ...STORE(),
  ]),
  0x0b,
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
