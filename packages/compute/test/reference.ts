import * as tf from '@tensorflow/tfjs';

/**
 * Naive reference loops (float64, written straight from the definitions) that the tests hold
 * LENNA's convolutions, pools and gradient kernels against. NHWC; filters [kh, kw, in, out|multiplier].
 */
export interface Geometry {
  n: number; h: number; w: number; c: number;
  kh: number; kw: number; outC: number;
  stride: number; dilation: number;
  top: number; left: number; oh: number; ow: number;
  depthwise: boolean;
}

/** Pads and output size for 'same' / 'valid' / a number, as TensorFlow defines them. */
export function geometry(
  xShape: number[], fShape: number[], stride: number, dilation: number, pad: 'same' | 'valid' | number, depthwise: boolean,
): Geometry {
  const [n, h, w, c] = xShape;
  const [kh, kw] = fShape;
  const outC = depthwise ? c * fShape[3] : fShape[3];
  const ekh = dilation * (kh - 1) + 1, ekw = dilation * (kw - 1) + 1;
  let top: number, left: number, oh: number, ow: number;
  if (pad === 'same') {
    oh = Math.ceil(h / stride); ow = Math.ceil(w / stride);
    top = Math.floor(Math.max((oh - 1) * stride + ekh - h, 0) / 2);
    left = Math.floor(Math.max((ow - 1) * stride + ekw - w, 0) / 2);
  } else {
    const p = pad === 'valid' ? 0 : pad;
    top = left = p;
    oh = Math.floor((h + 2 * p - ekh) / stride) + 1;
    ow = Math.floor((w + 2 * p - ekw) / stride) + 1;
  }
  return { n, h, w, c, kh, kw, outC, stride, dilation, top, left, oh, ow, depthwise };
}

/** Calls visit(xIndex, fIndex, yIndex) for every multiply of the convolution. */
function eachTap(g: Geometry, visit: (xi: number, fi: number, yi: number) => void): void {
  const mult = g.depthwise ? g.outC / g.c : 0;
  for (let b = 0; b < g.n; b++)
    for (let i = 0; i < g.oh; i++)
      for (let j = 0; j < g.ow; j++)
        for (let a = 0; a < g.kh; a++)
          for (let e = 0; e < g.kw; e++) {
            const y = i * g.stride + a * g.dilation - g.top;
            const x = j * g.stride + e * g.dilation - g.left;
            if (y < 0 || y >= g.h || x < 0 || x >= g.w) continue;
            for (let ci = 0; ci < g.c; ci++) {
              const xi = ((b * g.h + y) * g.w + x) * g.c + ci;
              if (g.depthwise) {
                for (let m = 0; m < mult; m++) {
                  const fi = ((a * g.kw + e) * g.c + ci) * mult + m;
                  visit(xi, fi, ((b * g.oh + i) * g.ow + j) * g.outC + ci * mult + m);
                }
              } else {
                for (let co = 0; co < g.outC; co++) {
                  const fi = ((a * g.kw + e) * g.c + ci) * g.outC + co;
                  visit(xi, fi, ((b * g.oh + i) * g.ow + j) * g.outC + co);
                }
              }
            }
          }
}

export function convForward(g: Geometry, x: ArrayLike<number>, f: ArrayLike<number>): Float64Array {
  const y = new Float64Array(g.n * g.oh * g.ow * g.outC);
  eachTap(g, (xi, fi, yi) => (y[yi] += x[xi] * f[fi]));
  return y;
}

/** Gradients of Σ y·dy with respect to x and the filter. */
export function convGrads(g: Geometry, x: ArrayLike<number>, f: ArrayLike<number>, dy: ArrayLike<number>): { dx: Float64Array; df: Float64Array } {
  const dx = new Float64Array(x.length), df = new Float64Array(f.length);
  eachTap(g, (xi, fi, yi) => {
    dx[xi] += f[fi] * dy[yi];
    df[fi] += x[xi] * dy[yi];
  });
  return { dx, df };
}

/** Pooling 'same'/'valid' with padding excluded from the average and from the max (first max wins). */
export function pool(kind: 'max' | 'avg', g: Geometry, x: ArrayLike<number>, dy: ArrayLike<number>): { y: Float64Array; dx: Float64Array } {
  const y = new Float64Array(g.n * g.oh * g.ow * g.c), dx = new Float64Array(x.length);
  for (let b = 0; b < g.n; b++)
    for (let i = 0; i < g.oh; i++)
      for (let j = 0; j < g.ow; j++)
        for (let ci = 0; ci < g.c; ci++) {
          const taps: number[] = [];
          for (let a = 0; a < g.kh; a++)
            for (let e = 0; e < g.kw; e++) {
              const yy = i * g.stride + a - g.top, xx = j * g.stride + e - g.left;
              if (yy >= 0 && yy < g.h && xx >= 0 && xx < g.w) taps.push(((b * g.h + yy) * g.w + xx) * g.c + ci);
            }
          const yi = ((b * g.oh + i) * g.ow + j) * g.c + ci;
          if (kind === 'avg') {
            y[yi] = taps.reduce((s, t) => s + x[t], 0) / taps.length;
            for (const t of taps) dx[t] += dy[yi] / taps.length;
          } else {
            let best = taps[0];
            for (const t of taps) if (x[t] > x[best]) best = t;
            y[yi] = x[best];
            dx[best] += dy[yi];
          }
        }
  return { y, dx };
}

/** max |a − b| / max |b|: the relative error the tests bound by 1e-4. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0, scale = 1e-12;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** Deterministic pseudo-random values in [-1, 1) (a small LCG: tests need no shared RNG). */
export function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/** max |a − b|: the batch-norm tests bound absolute differences of O(1) values. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The textbook BatchNorm formula in plain tfjs ops, differentiated by tfjs itself (on any backend). */
export function referenceBatchNorm(x: tf.Tensor4D, g?: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  let y: tf.Tensor = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
  if (g) y = tf.mul(y, g);
  if (b) y = tf.add(y, b);
  return y;
}
