import type * as tf from '@tensorflow/tfjs';

type Geometry = tf.backend_util.Conv2DInfo;

/*
 * Plain loops for the gradients that no fast forward kernel expresses well (NHWC), for the cases the
 * SIMD loops (simd-kernels.ts: stride 1) do not take. They walk one output row at a time, filter tap
 * by filter tap, channels innermost.
 */

/** The output indices whose tap at `offset` (from index·stride − padBefore) lands inside an input of `size`. */
function outputRange(offset: number, padBefore: number, stride: number, size: number, outSize: number): [number, number] {
  const start = offset - padBefore;
  const lo = Math.max(0, Math.ceil(-start / stride));
  const hi = Math.min(outSize, Math.floor((size - 1 - start) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/** The output columns j whose tap at column offset `offset` (from j·stride − padLeft) lands inside the input. */
export const columnRange = (g: Geometry, offset: number): [number, number] =>
  outputRange(offset, g.padInfo.left, g.strideWidth, g.inWidth, g.outWidth);

/** The output rows i whose tap at row offset `offset` (from i·stride − padTop) lands inside the input. */
export const rowRange = (g: Geometry, offset: number): [number, number] =>
  outputRange(offset, g.padInfo.top, g.strideHeight, g.inHeight, g.outHeight);

/** dW[kh,kw,c,m] = Σ_{n,i,j} x[n, s·i + d·kh − top, s·j + d·kw − left, c] · dy[n,i,j,c·M + m]. */
export function depthwiseFilterGradLoop(g: Geometry, x: Float32Array, dy: Float32Array, dw: Float32Array): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const M = g.outChannels / C, OC = C * M, KH = g.filterHeight, KW = g.filterWidth, S = g.strideWidth;
  const rowLen = OW * OC;
  // Per tap, a running sum for every (column, out channel): summed over columns at the end.
  const acc = new Float64Array(KH * KW * rowLen);
  const ranges = Array.from({ length: KW }, (_, kw) => columnRange(g, kw * g.dilationWidth));
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < OH; i++) {
      const dyRow = (n * OH + i) * rowLen;
      for (let kh = 0; kh < KH; kh++) {
        const y = i * g.strideHeight - g.padInfo.top + kh * g.dilationHeight;
        if (y < 0 || y >= H) continue;
        for (let kw = 0; kw < KW; kw++) {
          const [lo, hi] = ranges[kw];
          const col0 = kw * g.dilationWidth - g.padInfo.left;
          const a = (kh * KW + kw) * rowLen;
          const xRow = (n * H + y) * W * C;
          for (let j = lo; j < hi; j++) {
            const xb = xRow + (j * S + col0) * C;
            const ob = j * OC;
            for (let c = 0; c < C; c++) {
              const xv = x[xb + c];
              for (let m = 0; m < M; m++) acc[a + ob + c * M + m] += xv * dy[dyRow + ob + c * M + m];
            }
          }
        }
      }
    }
  }
  for (let k = 0; k < KH * KW; k++) {
    for (let o = 0; o < OC; o++) {
      let sum = 0;
      for (let j = 0; j < OW; j++) sum += acc[k * rowLen + j * OC + o];
      dw[k * OC + o] = sum;
    }
  }
}

/* Pools in tfjs have no dilation, so the pool loops ignore it. */

/**
 * Routes each dy to the first maximum of its window (row-major), as tfjs's own kernels do; a window
 * of only -Infinity or NaN passes no gradient.
 */
export function maxPoolGradLoop(g: Geometry, x: Float32Array, dy: Float32Array, dx: Float32Array): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const S = g.strideWidth, rowLen = OW * C;
  const best = new Float32Array(rowLen);
  const where = new Int32Array(rowLen);
  const ranges = Array.from({ length: g.filterWidth }, (_, kw) => columnRange(g, kw));
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < OH; i++) {
      best.fill(-Infinity);
      where.fill(-1);
      for (let kh = 0; kh < g.filterHeight; kh++) {
        const y = i * g.strideHeight - g.padInfo.top + kh;
        if (y < 0 || y >= H) continue;
        const xRow = (n * H + y) * W * C;
        for (let kw = 0; kw < g.filterWidth; kw++) {
          const [lo, hi] = ranges[kw];
          const col0 = kw - g.padInfo.left;
          for (let j = lo; j < hi; j++) {
            const xb = xRow + (j * S + col0) * C;
            const ob = j * C;
            for (let c = 0; c < C; c++) {
              const v = x[xb + c];
              if (v > best[ob + c]) {
                best[ob + c] = v;
                where[ob + c] = xb + c;
              }
            }
          }
        }
      }
      const dyRow = (n * OH + i) * rowLen;
      for (let t = 0; t < rowLen; t++) if (where[t] >= 0) dx[where[t]] += dy[dyRow + t];
    }
  }
}

/**
 * Spreads each dy evenly over the in-bounds pixels of its window: the forward average on both wasm
 * and cpu divides by that count (padding excluded), while tfjs 4.22's own AvgPoolGrad divides by the
 * full window size, which is wrong at the borders under 'same' padding.
 */
export function avgPoolGradLoop(g: Geometry, dy: Float32Array, dx: Float32Array): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const S = g.strideWidth, rowLen = OW * C;
  const scaled = new Float32Array(rowLen);
  const ranges = Array.from({ length: g.filterWidth }, (_, kw) => columnRange(g, kw));
  const colCount = new Int32Array(OW);
  for (const [lo, hi] of ranges) for (let j = lo; j < hi; j++) colCount[j]++;
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < OH; i++) {
      const y0 = i * g.strideHeight - g.padInfo.top;
      const yLo = Math.max(y0, 0), yHi = Math.min(y0 + g.filterHeight, H);
      const dyRow = (n * OH + i) * rowLen;
      for (let j = 0; j < OW; j++) {
        const scale = 1 / ((yHi - yLo) * colCount[j]);
        for (let c = 0; c < C; c++) scaled[j * C + c] = dy[dyRow + j * C + c] * scale;
      }
      for (let y = yLo; y < yHi; y++) {
        const xRow = (n * H + y) * W * C;
        for (let kw = 0; kw < g.filterWidth; kw++) {
          const [lo, hi] = ranges[kw];
          const col0 = kw - g.padInfo.left;
          if (S === 1) {
            const xs = xRow + col0 * C;
            for (let t = lo * C; t < hi * C; t++) dx[xs + t] += scaled[t];
          } else {
            for (let j = lo; j < hi; j++) {
              const xb = xRow + (j * S + col0) * C;
              for (let c = 0; c < C; c++) dx[xb + c] += scaled[j * C + c];
            }
          }
        }
      }
    }
  }
}
