/**
 * BatchNorm's four per-channel loops as WebAssembly SIMD over tfjs-wasm's own heap, written with the
 * typed builder in ../wasm/code.ts. Each function walks one group of 4 channels down `rows` rows `stride`
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

import { assembleModule, memoryBound, type WasmFunction } from '../wasm/module.js';
import { f32x4, i32, local, v128, wasmFunction, whileBelow, type Local, type Stmt, type V128 } from '../wasm/code.js';

/**
 * `for (o = 0; o < rows·stride; o += stride) body(o)`: `o` (a byte offset from each pointer) and `end`
 * are i32 locals, `o` still zero from entry.
 */
function rowLoop(rows: Local<'i32'>, stride: Local<'i32'>, o: Local<'i32'>, end: Local<'i32'>, body: Stmt[]): Stmt[] {
  return [local.set(end, i32.mul(rows, stride)), whileBelow(o, end, [...body, local.set(o, i32.add(o, stride))])];
}

/** out[offset…] += sum (one vector). */
const accumulate = (out: Local<'i32'>, sum: V128, offset: number): Stmt => v128.store(out, f32x4.add(v128.load(out, offset), sum), offset);

const moments = wasmFunction('moments', (f) => {
  const { x, shift, out, rows, stride } = f.params('x', 'shift', 'out', 'rows', 'stride');
  const { o, end } = f.locals('i32', 'o', 'end');
  const { sum, sumSq, center, d } = f.locals('v128', 'sum', 'sumSq', 'center', 'd');
  return [
    local.set(center, v128.load(shift)),
    ...rowLoop(rows, stride, o, end, [
      local.set(d, f32x4.sub(v128.load(i32.add(x, o)), center)),
      local.set(sum, f32x4.add(sum, d)),
      local.set(sumSq, f32x4.add(sumSq, f32x4.mul(d, d))),
    ]),
    accumulate(out, sum, 0),
    accumulate(out, sumSq, 16),
  ];
});

const scaleShift = wasmFunction('scaleShift', (f) => {
  const { out, x, coef, rows, stride } = f.params('out', 'x', 'coef', 'rows', 'stride');
  const { o, end } = f.locals('i32', 'o', 'end');
  const { scale, shift } = f.locals('v128', 'scale', 'shift');
  return [
    local.set(scale, v128.load(coef)),
    local.set(shift, v128.load(coef, 16)),
    ...rowLoop(rows, stride, o, end, [v128.store(i32.add(out, o), f32x4.add(f32x4.mul(v128.load(i32.add(x, o)), scale), shift))]),
  ];
});

const gradSums = wasmFunction('gradSums', (f) => {
  const { dy, x, mean, out, rows, stride } = f.params('dy', 'x', 'mean', 'out', 'rows', 'stride');
  const { o, end } = f.locals('i32', 'o', 'end');
  const { sumDy, sumDyXc, m, g } = f.locals('v128', 'sumDy', 'sumDyXc', 'm', 'g');
  return [
    local.set(m, v128.load(mean)),
    ...rowLoop(rows, stride, o, end, [
      local.set(g, v128.load(i32.add(dy, o))),
      local.set(sumDy, f32x4.add(sumDy, g)),
      local.set(sumDyXc, f32x4.add(sumDyXc, f32x4.mul(g, f32x4.sub(v128.load(i32.add(x, o)), m)))),
    ]),
    accumulate(out, sumDy, 0),
    accumulate(out, sumDyXc, 16),
  ];
});

const scaleShift2 = wasmFunction('scaleShift2', (f) => {
  const { out, a, b, coef, rows, stride } = f.params('out', 'a', 'b', 'coef', 'rows', 'stride');
  const { o, end } = f.locals('i32', 'o', 'end');
  const { ka, kb, shift } = f.locals('v128', 'ka', 'kb', 'shift');
  return [
    local.set(ka, v128.load(coef)),
    local.set(kb, v128.load(coef, 16)),
    local.set(shift, v128.load(coef, 32)),
    ...rowLoop(rows, stride, o, end, [
      v128.store(
        i32.add(out, o),
        f32x4.add(f32x4.add(f32x4.mul(v128.load(i32.add(a, o)), ka), f32x4.mul(v128.load(i32.add(b, o)), kb)), shift),
      ),
    ]),
  ];
});

/** The module's functions, in export order. */
export const BN_SIMD_FUNCTIONS: WasmFunction[] = [moments, scaleShift, gradSums, scaleShift2];

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
export const bnSimd: (memory: WasmMemoryLike) => BnSimd = memoryBound<BnSimd>(assembleModule(BN_SIMD_FUNCTIONS));
