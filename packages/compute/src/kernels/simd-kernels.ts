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

function maxPoolGradRects(g: Geometry, backend: tf.KernelBackend, x: tf.TensorInfo, y: tf.TensorInfo, dy: tf.TensorInfo): tf.TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const image = OH * OW * C;
  const heap = new LoopHeap(backend, [x, y, dy], [N * H * W * C, image]);
  const [px, py, pdy] = heap.inputs, [pdx, ptaken] = heap.scratch;
  const rows = Array.from({ length: g.filterHeight }, (_, kh) => rowRange(g, kh));
  const cols = Array.from({ length: g.filterWidth }, (_, kw) => columnRange(g, kw));
  for (let n = 0; n < N; n++) {
    if (n > 0) heap.f32().fill(0, ptaken / 4, ptaken / 4 + image);
    for (let kh = 0; kh < g.filterHeight; kh++) {
      const [i0, i1] = rows[kh];
      for (let kw = 0; kw < g.filterWidth; kw++) {
        const [j0, j1] = cols[kw];
        if (i0 >= i1 || j0 >= j1) continue;
        const xs = ((n * H + i0 - g.padInfo.top + kh) * W + j0 - g.padInfo.left + kw) * C, t = (i0 * OW + j0) * C, o = n * image + t;
        heap.loops.firstMaxGradRows(pdx + 4 * xs, ptaken + 4 * t, px + 4 * xs, py + 4 * o, pdy + 4 * o, (j1 - j0) * C, i1 - i0, 4 * W * C, 4 * OW * C);
      }
    }
  }
  return heap.output(0, x.shape);
}
