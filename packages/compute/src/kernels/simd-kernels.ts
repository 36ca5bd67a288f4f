import type * as tf from '@tensorflow/tfjs';
import { LoopHeap } from './loop-heap.js';
import { columnRange, rowRange } from './loops.js';

type Geometry = tf.backend_util.Conv2DInfo;

/*
 * Stride-1 cases of the loop kernels, where each filter tap touches one contiguous run of
 * (column, channel) values per output row: the SIMD loops take the run, JS the < 4 leftovers.
 */

/** Depthwise filter gradient, stride 1, multiplier 1: per tap, acc[j·C + c] += x·dy over all rows. */
export function depthwiseFilterGradSimd(g: Geometry, backend: tf.KernelBackend, x: tf.TensorInfo, dy: tf.TensorInfo): Float64Array {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const KH = g.filterHeight, KW = g.filterWidth, rowLen = OW * C;
  const heap = new LoopHeap(backend, [x, dy], [KH * KW * rowLen]);
  const [px, pdy] = heap.inputs, pacc = heap.scratch[0];
  const f = heap.f32();
  const ranges = Array.from({ length: KW }, (_, kw) => columnRange(g, kw * g.dilationWidth));
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < OH; i++) {
      const dyRow = (n * OH + i) * rowLen;
      for (let kh = 0; kh < KH; kh++) {
        const y = i - g.padInfo.top + kh * g.dilationHeight;
        if (y < 0 || y >= H) continue;
        for (let kw = 0; kw < KW; kw++) {
          const [lo, hi] = ranges[kw];
          const len = (hi - lo) * C, simd = len & ~3;
          const xs = (n * H + y) * W * C + (kw * g.dilationWidth - g.padInfo.left) * C + lo * C;
          const acc = (kh * KW + kw) * rowLen + lo * C, d = dyRow + lo * C;
          heap.loops.mac(pacc + 4 * acc, px + 4 * xs, pdy + 4 * d, len);
          for (let t = simd; t < len; t++) f[pacc / 4 + acc + t] += f[px / 4 + xs + t] * f[pdy / 4 + d + t];
        }
      }
    }
  }
  const dw = new Float64Array(KH * KW * C);
  for (let k = 0; k < KH * KW; k++)
    for (let j = 0; j < OW; j++)
      for (let c = 0; c < C; c++) dw[k * C + c] += f[pacc / 4 + k * rowLen + j * C + c];
  heap.close();
  return dw;
}

/**
 * Max-pool gradient, stride 1: taps in window order, each output's dy goes to the first x equal to its
 * max. With whole SIMD groups of channels, one call covers a tap's rectangle of rows in an image, and
 * `taken` spans the image's outputs; otherwise one call per row and tap.
 */
export function maxPoolGradSimd(g: Geometry, backend: tf.KernelBackend, x: tf.TensorInfo, y: tf.TensorInfo, dy: tf.TensorInfo): tf.TensorInfo {
  if (g.inChannels % 4 === 0) return maxPoolGradRects(g, backend, x, y, dy);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const rowLen = OW * C;
  const heap = new LoopHeap(backend, [x, y, dy], [N * H * W * C, rowLen]);
  const [px, py, pdy] = heap.inputs, [pdx, ptaken] = heap.scratch;
  const f = heap.f32(), taken = new Int32Array(f.buffer);
  const ranges = Array.from({ length: g.filterWidth }, (_, kw) => columnRange(g, kw));
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < OH; i++) {
      taken.fill(0, ptaken / 4, ptaken / 4 + rowLen);
      const outRow = (n * OH + i) * rowLen;
      for (let kh = 0; kh < g.filterHeight; kh++) {
        const row = i - g.padInfo.top + kh;
        if (row < 0 || row >= H) continue;
        for (let kw = 0; kw < g.filterWidth; kw++) {
          const [lo, hi] = ranges[kw];
          const len = (hi - lo) * C, simd = len & ~3;
          const xs = (n * H + row) * W * C + (kw - g.padInfo.left) * C + lo * C, o = outRow + lo * C, t0 = lo * C;
          heap.loops.firstMaxGrad(pdx + 4 * xs, ptaken + 4 * t0, px + 4 * xs, py + 4 * o, pdy + 4 * o, len);
          for (let t = simd; t < len; t++) {
            if (taken[ptaken / 4 + t0 + t] === 0 && f[px / 4 + xs + t] === f[py / 4 + o + t]) {
              f[pdx / 4 + xs + t] += f[pdy / 4 + o + t];
              taken[ptaken / 4 + t0 + t] = -1;
            }
          }
        }
      }
    }
  }
  return heap.output(0, x.shape);
}

type Rect = [number, number, number, number]; // rows [i0, i1), columns [j0, j1)

const intersect = (a: Rect, b: Rect): Rect => [Math.max(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.min(a[3], b[3])];
const isEmpty = (r: Rect) => r[0] >= r[1] || r[2] >= r[3];

/**
 * Outputs whose whole 3×3 window lies inside x take firstMaxWindow (nine taps in registers); the frame
 * around them goes tap by tap through firstMaxGradRows, in window order, with `taken` per image.
 */
function maxPoolGradRects(g: Geometry, backend: tf.KernelBackend, x: tf.TensorInfo, y: tf.TensorInfo, dy: tf.TensorInfo): tf.TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const image = OH * OW * C, top = g.padInfo.top, left = g.padInfo.left;
  const heap = new LoopHeap(backend, [x, y, dy], [N * H * W * C, image]);
  const [px, py, pdy] = heap.inputs, [pdx, ptaken] = heap.scratch;
  const taps: Array<{ kh: number; kw: number; rect: Rect }> = [];
  for (let kh = 0; kh < g.filterHeight; kh++)
    for (let kw = 0; kw < g.filterWidth; kw++) taps.push({ kh, kw, rect: [...rowRange(g, kh), ...columnRange(g, kw)] });
  const windowed = g.filterHeight === 3 && g.filterWidth === 3;
  const interior: Rect = windowed ? taps.reduce<Rect>((r, t) => intersect(r, t.rect), [0, OH, 0, OW]) : [0, 0, 0, 0];
  const frame: Rect[] = isEmpty(interior)
    ? [[0, OH, 0, OW]]
    : [[0, interior[0], 0, OW], [interior[1], OH, 0, OW], [interior[0], interior[1], 0, interior[2]], [interior[0], interior[1], interior[3], OW]];
  const offsets = taps.map(({ kh, kw }) => 4 * (kh * W + kw) * C);
  const xAt = (n: number, i: number, j: number, kh: number, kw: number) => 4 * (((n * H + i - top + kh) * W + j - left + kw) * C);
  const outAt = (i: number, j: number) => 4 * (i * OW + j) * C;
  for (let n = 0; n < N; n++) {
    if (n > 0) heap.f32().fill(0, ptaken / 4, ptaken / 4 + image);
    const [i0, i1, j0, j1] = interior;
    if (!isEmpty(interior)) {
      const o = 4 * n * image + outAt(i0, j0), xs = xAt(n, i0, j0, 0, 0);
      heap.loops.firstMaxWindow(pdx + xs, px + xs, py + o, pdy + o, (j1 - j0) * C, i1 - i0, 4 * W * C, 4 * OW * C, ...offsets);
    }
    for (const { kh, kw, rect } of taps) {
      for (const part of frame) {
        const [a0, a1, b0, b1] = intersect(rect, part);
        if (a0 >= a1 || b0 >= b1) continue;
        const xs = xAt(n, a0, b0, kh, kw), t = outAt(a0, b0), o = 4 * n * image + t;
        heap.loops.firstMaxGradRows(pdx + xs, ptaken + t, px + xs, py + o, pdy + o, (b1 - b0) * C, a1 - a0, 4 * W * C, 4 * OW * C);
      }
    }
  }
  return heap.output(0, x.shape);
}
